"""Training-loop configuration: the `TrainConfig` dataclass and the per-env defaults table.

Agent hyperparameters (lr, gamma, batch size, target updates, ...) live in
`rlgames.agents.AgentConfig`; the loop's live here. `DEFAULTS` holds, in one place, the values
each known env starts from, for both: keys that name an `AgentConfig` field go to the agent.
This module imports neither torch nor the agents.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import json
import math
import numbers
import textwrap
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

Bounds = dict[str, tuple[float | None, float | None]]
"""Field name -> (lowest, highest) allowed value, either end None for no limit."""


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, annotation: Any) -> tuple[bool, Any]:
    """(fits, value in the annotation's own type): ints and floats from numpy or JSON too,
    never a bool for a number; lists for tuples."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return True, None
        for inner in (a for a in args if a is not type(None)):
            fits, coerced = _coerce(value, inner)
            if fits:
                return True, coerced
        return False, value
    if annotation is Any:
        return True, value
    number = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if annotation is bool:
        fits = isinstance(value, (bool, np.bool_))
        return fits, bool(value) if fits else value
    if annotation is int:  # 4 and 4.0 (TOML, JSON), not 4.5
        fits = number and math.isfinite(value) and float(value).is_integer()
        return fits, int(value) if fits else value
    if annotation is float:  # finite: a NaN would pass every range check
        fits = number and math.isfinite(value)
        return fits, float(value) if fits else value
    if annotation is str:
        return isinstance(value, str), value
    if origin is tuple and isinstance(value, (tuple, list, np.ndarray)):
        values = value.tolist() if isinstance(value, np.ndarray) else value
        items = [_coerce(v, args[0]) for v in values]
        return all(fits for fits, _ in items), tuple(v for _, v in items)
    if origin is dict or annotation is dict:
        return isinstance(value, dict), value
    return False, value


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if annotation is type(None):
        return "None"
    if origin is tuple:
        return f"a list of {_type_name(args[0]).split(' ', 1)[-1]}s"
    if origin is dict or annotation is dict:
        return "a table (dict)"
    names = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def check_fields(config: Any, bounds: Bounds, choices: dict[str, tuple] | None = None) -> None:
    """Check a config dataclass's fields in place: each value's type against its annotation
    (numbers from numpy or JSON are converted, lists become tuples), then `bounds` and
    `choices`. A bad value raises one ValueError that names the field and what it takes."""
    cls = type(config)
    for f in dataclasses.fields(config):
        annotation = _hints(cls)[f.name]
        value = getattr(config, f.name)
        fits, value = _coerce(value, annotation)
        if not fits:
            raise ValueError(
                f"{cls.__name__}.{f.name} must be {_type_name(annotation)}, got {value!r}"
            )
        setattr(config, f.name, value)
        low, high = bounds.get(f.name, (None, None))
        for v in value if isinstance(value, tuple) else (value,):
            too_low = low is not None and v is not None and v < low
            too_high = high is not None and v is not None and v > high
            if too_low or too_high:
                allowed = (
                    f"between {low} and {high}"
                    if low is not None and high is not None
                    else (f">= {low}" if low is not None else f"<= {high}")
                )
                raise ValueError(f"{cls.__name__}.{f.name} must be {allowed}, got {value!r}")
        if choices and f.name in choices and value not in choices[f.name]:
            options = ", ".join(repr(c) for c in choices[f.name])
            raise ValueError(f"{cls.__name__}.{f.name} must be one of {options}, got {value!r}")


@dataclass
class TrainConfig:
    """How the training loop runs. Step counts are env steps summed over all sub-envs."""

    n_envs: int = 1
    """Parallel sub-envs in one Gymnasium vector env (1 = a vector env of one)."""
    vectorization_mode: str | None = None
    """When n_envs > 1: "sync" (one process) or "async" (one process each); None = the game's
    default in rlgames.envs.factory.GAME_DEFAULTS."""
    buffer_size: int = 100_000
    """Replay capacity in transitions."""
    learning_starts: int = 1_000
    """Env steps of uniformly random actions before the first gradient step."""
    train_freq: int = 4
    """Env steps between training rounds."""
    gradient_steps: int = 1
    """Gradient steps (agent.update calls) per training round."""
    epsilon_start: float = 1.0
    """Exploration rate at step 0."""
    epsilon_end: float = 0.05
    """Exploration rate after epsilon_decay_steps, kept from then on."""
    epsilon_decay_steps: int = 10_000
    """Env steps over which epsilon falls linearly from epsilon_start to epsilon_end."""
    lr_end: float | None = None
    """Learning rate reached linearly from the agent's lr after lr_decay_steps (None = keep it
    constant). Annealing steadies the final greedy policy."""
    lr_decay_steps: int = 0
    """Env steps over which lr falls to lr_end (0 = the run's total steps, which then depends
    on how far the run is meant to go)."""
    eval_every: int = 0
    """Env steps between greedy evaluations on a separate env (0 = never during training)."""
    eval_episodes: int = 10
    """Episodes per evaluation; episode i is reset with seed eval_seed + i."""
    eval_seed: int = 1_000_000
    """First seed of the evaluation episodes (kept apart from training seeds)."""
    checkpoint_every: int = 0
    """Env steps between checkpoints (0 = only at the end of train())."""
    save_replay: bool = True
    """Put the replay buffer in checkpoints; without it a resume is not exact."""
    log_every: int = 1_000
    """Env steps between rows of metrics.csv (and TensorBoard scalars)."""
    plot_every: int = 10_000
    """Env steps between refreshes of curves.png, also drawn at the end (0 = never)."""
    tensorboard: bool | None = None
    """Write TensorBoard events: None = when tensorboard is installed."""
    progress: bool = True
    """Show a tqdm progress bar with steps/s, recent return and epsilon."""
    episodic_life: bool = False
    """Atari: end an episode in the agent's eyes at each life lost."""
    clip_reward: bool = False
    """Clip rewards to their sign (-1, 0, 1) before they reach the agent."""
    torch_threads: int | None = None
    """torch.set_num_threads for this run (None or 0 = torch's default)."""
    keep_freed_memory: bool = True
    """Linux/glibc: reuse freed memory instead of mapping fresh pages for each step's tensors
    (rlgames.malloc; process-wide): a Breakout gradient step takes 13-16 ms, not 16-20 ms."""
    deterministic: bool = False
    """torch.use_deterministic_algorithms(True): needed for bit-identical resumes on GPU."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for rlgames.make_env (skip, size, stack, env options, and
    max_episode_steps for training and in-training evaluation). Given as an override, it is
    merged into the env's row (a key set to null/None there takes the library default)."""

    def __post_init__(self) -> None:
        check_fields(self, _TRAIN_BOUNDS, {"vectorization_mode": (None, "sync", "async")})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed; unknown names raise TypeError."""
        return dataclasses.replace(self, **changes)


_TRAIN_BOUNDS: Bounds = {
    "n_envs": (1, None),
    "buffer_size": (1, None),
    "learning_starts": (0, None),
    "train_freq": (1, None),
    "gradient_steps": (0, None),
    "epsilon_start": (0.0, 1.0),
    "epsilon_end": (0.0, 1.0),
    "epsilon_decay_steps": (0, None),
    "lr_end": (0.0, None),
    "lr_decay_steps": (0, None),
    "eval_every": (0, None),
    "eval_episodes": (1, None),
    "checkpoint_every": (0, None),
    "log_every": (0, None),
    "plot_every": (0, None),
    "torch_threads": (0, None),
}


_CARTPOLE = {
    # Stable-Baselines3 zoo's CartPole DQN (target updates counted in agent.update() calls),
    # plus 3-step returns and lr annealed to 0: 5 of 5 seeds reach a greedy 500 at 50,000
    # steps (bench/bench_cartpole.py); the zoo values alone gave 3 of 5.
    "lr": 2.3e-3,
    "batch_size": 64,
    "gamma": 0.99,
    "hidden": (256, 256),
    "target_update": 128,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "train_freq": 256,
    "gradient_steps": 128,
    "epsilon_end": 0.04,
    "epsilon_decay_steps": 8_000,
    "n_step": 3,
    "lr_end": 0.0,
    "lr_decay_steps": 50_000,
    "log_every": 2_000,
    # A 256x256 MLP gains nothing from a second thread, and on a busy machine the threads'
    # spin-waits cost 10x (measured: 2,000 steps in 9.8 s with 1 thread, 103 s with 2).
    "torch_threads": 1,
}

_ATARI_LIKE = {
    "lr": 1e-4,
    "batch_size": 32,
    "gamma": 0.99,
    "target_update": 250,
    "buffer_size": 100_000,
    "learning_starts": 20_000,
    "train_freq": 4,
    "gradient_steps": 1,
    "epsilon_end": 0.01,
    "epsilon_decay_steps": 250_000,
    "log_every": 5_000,
    "plot_every": 25_000,
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "CartPole-v1": _CARTPOLE,
    "ALE/Breakout-v5": {**_ATARI_LIKE, "episodic_life": True, "clip_reward": True},
    # The shipped pretrained agent's run (docs/results/dino.md): dueling double DQN on 4 stacked
    # 42x160 gray frames (the 150x552 canvas scaled by ~3.5 on both axes, so cacti and birds
    # keep their shapes, at half the update cost of 84x84), 3-step returns, lr
    # annealed 2e-4 -> 2e-5. Training episodes stop at 6,000 steps (a score near 7,000):
    # long games teach little more and would make the in-training evaluations unbounded;
    # evaluation after training plays whole games.
    "ChromeDino-v0": {
        **_ATARI_LIKE,
        "env_kwargs": {"size": (42, 160), "max_episode_steps": 6_000},
        "lr": 2e-4,
        "lr_end": 2e-5,
        "n_step": 3,
        "buffer_size": 200_000,
        "learning_starts": 5_000,
        "epsilon_end": 0.01,
        "epsilon_decay_steps": 60_000,
        "target_update": 1_000,
        "eval_every": 100_000,
        "eval_episodes": 5,
        "checkpoint_every": 100_000,
        "torch_threads": 2,
    },
    "rlgames/SuperMarioBros-1-1-v0": {  # the PyTorch Mario tutorial's DDQN settings
        **_ATARI_LIKE,
        "lr": 2.5e-4,
        "gamma": 0.9,
        "learning_starts": 10_000,
        "train_freq": 3,
        "epsilon_end": 0.1,
        "epsilon_decay_steps": 200_000,
        "target_update": 3_333,  # its sync every 10,000 env steps, in updates at train_freq 3
    },
}
"""Per-env starting values for TrainConfig and AgentConfig fields, keyed by env id."""


RUN_DEFAULTS: dict[str, dict[str, Any]] = {
    "CartPole-v1": {"agent": "dqn", "steps": 50_000},
    "ALE/Breakout-v5": {"agent": "dqn", "steps": 10_000_000},
    "ChromeDino-v0": {"agent": "dueling", "steps": 800_000},
}
"""Per-env agent and run length for `rlgames train` when --agent or --steps is not given."""

#: The row a game without its own row takes: every Atari game Breakout's, every stage 1-1's.
FAMILY_ROWS = {"atari": "ALE/Breakout-v5", "mario": "rlgames/SuperMarioBros-1-1-v0"}


def env_defaults(env_id: str) -> dict[str, Any]:
    """The defaults row for an env id: its own, else its game family's, else empty."""
    from rlgames.envs.factory import game_family, resolve_id

    env_id = resolve_id(env_id)
    row = DEFAULTS.get(env_id) or DEFAULTS.get(FAMILY_ROWS.get(game_family(env_id), ""), {})
    return dict(row)


def split_overrides(
    overrides: dict[str, Any], agent_fields: set[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split flat settings into (TrainConfig fields, AgentConfig fields); unknown names raise."""
    train_names = {f.name for f in dataclasses.fields(TrainConfig)}
    train: dict[str, Any] = {}
    agent: dict[str, Any] = {}
    for key, value in overrides.items():
        if key in train_names:
            train[key] = value
        elif key in agent_fields:
            agent[key] = value
        else:
            known = ", ".join(sorted(train_names | agent_fields))
            raise TypeError(f"Unknown setting {key!r}. Known settings: {known}.")
    return train, agent


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Flat settings from a .json or .toml file (TrainConfig and AgentConfig field names)."""
    path = Path(path)
    if path.suffix == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        with path.open("rb") as f:
            try:
                data = tomllib.load(f)
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"Config file {path} is not valid TOML: {error}") from None
    elif path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"Config file {path} is not valid JSON: {error}") from None
    else:
        raise ValueError(f"Config file {path} must end in .json or .toml.")
    if not isinstance(data, dict):
        raise ValueError(f"Config file {path} must hold a table of settings.")
    return data


def field_docs(cls: type) -> dict[str, str]:
    """Each dataclass field's docstring (the string literal right under it), by field name."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for node, nxt in zip(body, body[1:]):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[node.target.id] = " ".join(nxt.value.value.split())
    return docs


def to_jsonable(value: Any) -> Any:
    """Tuples to lists, recursively, so a config survives a JSON round trip."""
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value
