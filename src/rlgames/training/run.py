"""What a run is made of besides the loop: its settings, resolved once; the check that a
resume is the same run; the description written beside its state; and Ctrl-C handling."""

from __future__ import annotations

import dataclasses
import json
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgames.agents.config import AgentConfig
from rlgames.agents.variants import agent_class
from rlgames.config import TrainConfig, merge_env_kwargs, split_overrides, to_jsonable
from rlgames.envs.factory import frames_per_observation, resolve_id
from rlgames.process import may_handle
from rlgames.training.checkpoint import CheckpointError, describe_space, load_parts
from rlgames.training.defaults import BY_AGENT, RUN_KEYS, env_defaults

AGENT_FIELDS = frozenset(f.name for f in dataclasses.fields(AgentConfig))

RESUME_CHANGEABLE = frozenset(
    {"progress", "log_every", "plot_every", "eval_every", "eval_episodes", "checkpoint_every"}
    | {"snapshot_every"}
    | {"checkpoint_minutes", "tensorboard", "keep_freed_memory", "ray_address", "actor_cpus"}
)
"""TrainConfig fields a resume may change: none of them changes what the run computes."""


@dataclass
class RunSettings:
    """A run's settings, resolved once from the env's defaults row, the given configs and
    the overrides (in that order of precedence, the last winning)."""

    agent: str
    steps: int
    train: TrainConfig
    agent_kwargs: dict[str, Any]
    """AgentConfig fields for make_agent (checked already)."""

    @classmethod
    def build(
        cls,
        env_id: str,
        agent: str | None,
        config: TrainConfig | None,
        agent_config: dict[str, Any] | None,
        overrides: dict[str, Any],
    ) -> RunSettings:
        row = env_defaults(env_id)
        run = {k: row.pop(k) for k in RUN_KEYS if k in row}
        agent = agent or run.get("agent", "dqn")
        row.update(row.pop(BY_AGENT, {}).get(agent_class(agent).name, {}))
        train_row, agent_row = split_overrides(row, AGENT_FIELDS)
        train_over, agent_over = split_overrides(overrides, AGENT_FIELDS)
        config = config if config is not None else TrainConfig(**train_row)
        if "env_kwargs" in train_over:  # merged into the row's
            train_over["env_kwargs"] = merge_env_kwargs(config.env_kwargs, train_over["env_kwargs"])
        base = agent_row if agent_config is None else dict(agent_config)
        agent_kwargs = {**base, **agent_over}
        agent_class(agent).default_config(**agent_kwargs)  # a bad value: one error, now
        return cls(
            agent=agent,
            steps=int(run.get("steps", 50_000)),
            train=config.replace(**train_over),
            agent_kwargs=agent_kwargs,
        )

    def describe(self) -> dict[str, Any]:
        """The settings as config.json holds them."""
        agent_config = dataclasses.asdict(
            agent_class(self.agent).default_config(**self.agent_kwargs)
        )
        return {
            "agent": self.agent,
            "train": to_jsonable(dataclasses.asdict(self.train)),
            "agent_config": to_jsonable(agent_config),
        }


def run_description(trainer: Any, has_replay: bool) -> dict[str, Any]:
    """The meta written beside a checkpoint's parts: what the run is (checked on resume and
    read by load_agent), and its progress for people and tools that list checkpoints."""
    return {
        "env_id": trainer.env_id,
        "agent": trainer.agent.name,
        "seed": trainer.seed,
        "observation_space": describe_space(trainer.observation_space),
        "action_space": describe_space(trainer.action_space),
        "agent_config": to_jsonable(dataclasses.asdict(trainer.agent.config)),
        "train_config": to_jsonable(dataclasses.asdict(trainer.config)),
        "has_replay": has_replay,
        "step": trainer.run.step,
        "episodes": trainer.run.episodes,
        "elapsed_s": trainer.logger.elapsed_s if trainer.logger else 0.0,
    }


def load_run(
    run_dir: Path,
    env_id: str | None,
    agent: str | None,
    seed: int | None,
    changes: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[str, Any]]:
    """(config.json, the latest checkpoint's part states, its meta) of a run to resume, after
    checking that what is given is the run's own. `changes` loses the settings given equal
    to the run's (the ones left may change)."""
    latest = run_dir / "checkpoints" / "latest.ckpt"
    if not (run_dir / "config.json").exists():
        raise FileNotFoundError(
            f"{run_dir} is not an rlgames run directory (it has no config.json): give the "
            "directory a run was trained into (its --out)."
        )
    if not latest.exists():
        raise FileNotFoundError(
            f"{run_dir} holds no checkpoint to resume from ({latest} is missing): the run "
            "stopped before its first one (written every checkpoint_minutes and at the end). "
            "Delete the directory, or train with another out."
        )
    split_overrides(changes, AGENT_FIELDS)  # an unknown name: TypeError naming the known
    doc = json.loads((run_dir / "config.json").read_text())
    for name, value, own in (
        ("env", env_id and resolve_id(env_id), resolve_id(doc["env_id"])),
        ("agent", agent, doc["agent"]),
        ("seed", seed, doc["seed"]),
    ):
        if value is not None and value != own:
            raise ValueError(
                f"{name} {value}: the run in {run_dir} uses {own}, and a resumed run keeps it. "
                f"Leave {name} out, or start a new run (another out directory) to change it."
            )
    stored = {**doc["train"], **doc["agent_config"]}
    if "env_kwargs" in changes:
        changes["env_kwargs"] = merge_env_kwargs(stored["env_kwargs"], changes["env_kwargs"])
    refused = sorted(
        k for k, v in changes.items() if k not in RESUME_CHANGEABLE and to_jsonable(v) != stored[k]
    )
    if refused:
        raise ValueError(
            f"{', '.join(refused)} cannot change when a run resumes (it would no longer be "
            f"the same run); only {', '.join(sorted(RESUME_CHANGEABLE))} can. Start a new "
            "run (another out directory) to change the others."
        )
    for name in set(changes) - RESUME_CHANGEABLE:
        del changes[name]
    states, meta = load_parts(latest)
    if meta.get("export", {}).get("policy_only"):
        raise CheckpointError(
            f"{latest} is an exported policy (weights only): it can be evaluated or played, "
            "not resumed. Resume from the run directory that produced it."
        )
    return doc, states, meta


class StopOnInterrupt:
    """While active, a first Ctrl-C only sets `caught`, so the loop ends after a whole step
    and writes a consistent checkpoint; a second Ctrl-C interrupts at once. Installed only
    over Python's own SIGINT handler (never over an ignored SIGINT: jobs started with ``&``
    from a script, some CI runners), from the main thread (see `rlgames.process`)."""

    def __init__(self) -> None:
        self.caught = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.caught = True
        signal.signal(signal.SIGINT, self._previous)
        print("\nstopping after this step and writing a checkpoint (Ctrl-C again to abort)")

    def __enter__(self) -> StopOnInterrupt:
        if may_handle(signal.SIGINT, take_over=(signal.default_int_handler,)):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None and not self.caught:
            signal.signal(signal.SIGINT, self._previous)


def replay_frame_stack(env_id: str, env_kwargs: dict[str, Any], obs_space: gym.Space) -> int:
    """Frames per observation for the replay's frame-once storage: the env's stack for uint8
    (C, H, W) stacks (colour frames keep their channels together), else 1: whole observations."""
    shape = tuple(obs_space.shape or ())
    if len(shape) != 3 or obs_space.dtype != np.uint8:
        return 1
    stack = frames_per_observation(env_id, env_kwargs.get("stack"))
    return stack if shape[0] % stack == 0 else 1


def crossed(before: int, now: int, every: int) -> bool:
    """True when a multiple of `every` lies in (before, now]; never when every <= 0."""
    return every > 0 and now // every > before // every
