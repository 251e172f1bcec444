"""`RunState`: the training loop's counters and random generators, as one checkpoint part."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class RunState:
    """Counters and generators of one run. The process-wide generators (Python's `random`,
    numpy's global one, torch's CPU one) are seeded by the Trainer and saved here too, as
    third-party code (envs, wrappers) may draw from them."""

    seed: int = 0
    step: int = 0
    """Env steps so far, summed over sub-envs."""
    episodes: int = 0
    learn_from: int = 0
    """Step of the first gradient step: learning_starts, later after a replay-less resume."""
    best_eval: float | None = None
    """Best mean greedy return of the in-training evaluations (its weights: best.ckpt)."""
    loss_sum: float = 0.0
    """Sums over the gradient steps since the last metrics row, for its means."""
    q_sum: float = 0.0
    n_stats: int = 0
    rng: np.random.Generator = field(init=False)
    """The loop's generator: random actions before learning starts, epsilon, sampling."""

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def seed_globals(self) -> None:
        """Seed Python's, numpy's and torch's process-wide generators with the run's seed."""
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)  # noqa: NPY002 (third-party code may use it)
        torch.manual_seed(self.seed)

    def state_dict(self) -> dict[str, Any]:
        version, internal, gauss = random.getstate()
        name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
        counters = ("step", "episodes", "learn_from", "best_eval", "n_stats")
        return {
            **{k: getattr(self, k) for k in counters},
            # arrays, not JSON: a diverged run's NaN loss must not stop it from checkpointing
            "loss_sums": np.array([self.loss_sum, self.q_sum], dtype=np.float64),
            "rng": self.rng.bit_generator.state,
            "python_rng": [version, list(internal), gauss],
            "numpy_global_rng": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("step", "episodes", "learn_from", "n_stats"):
            setattr(self, key, int(state[key]))
        self.best_eval = state["best_eval"]
        self.loss_sum, self.q_sum = (float(x) for x in state["loss_sums"])
        self.rng.bit_generator.state = state["rng"]
        version, internal, gauss = state["python_rng"]
        random.setstate((version, tuple(internal), gauss))
        name, keys, pos, has_gauss, cached = state["numpy_global_rng"]
        np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))  # noqa: NPY002
        torch.set_rng_state(state["torch_rng"])
