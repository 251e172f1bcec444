"""Settings as dataclasses: the training loop's `TrainConfig`, the field checks every config
shares (`check_fields`), and reading settings from .json / .toml files.

Agent hyperparameters (lr and its schedule, gamma, n-step, batch size, target updates, ...)
live in `rlgames.agents.AgentConfig`; the per-env starting values of both in
`rlgames.training.defaults`. This module imports neither torch nor the agents.
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
    compress_replay: bool | None = None
    """Store replay frames compressed (each frame once, decompressed when sampled); None = on
    for image observations, off for vectors (which stay raw)."""
    learning_starts: int = 1_000
    """Env steps of uniformly random actions before the first gradient step."""
    train_freq: int = 4
    """Env steps between training rounds."""
    gradient_steps: int = 1
    """Gradient steps per training round (the agent's learn() samples a batch for each)."""
    epsilon_start: float = 1.0
    """Exploration rate at step 0."""
    epsilon_end: float = 0.05
    """Exploration rate after epsilon_decay_steps, kept from then on."""
    epsilon_decay_steps: int = 10_000
    """Env steps over which epsilon falls from epsilon_start to epsilon_end."""
    epsilon_schedule: str = "linear"
    """How epsilon falls: "linear", or "exponential" (by the same factor each step, as in the
    PyTorch Mario tutorial; epsilon_end must then be > 0)."""
    eval_every: int = 0
    """Env steps between greedy evaluations on a separate env (0 = never during training)."""
    eval_episodes: int = 10
    """Episodes per evaluation; episode i is reset with seed eval_seed + i."""
    eval_seed: int = 1_000_000
    """First seed of the evaluation episodes (kept apart from training seeds)."""
    max_minutes: float = 0.0
    """Stop the run after this many wall-clock minutes of training, resumed sessions
    included (the same clock as the logs' time_s), checkpointing as at the end of its steps;
    0 = no limit. For runs planned by time: ``--steps`` large, ``--max-minutes 120``."""
    checkpoint_minutes: float = 10.0
    """Wall-clock minutes between checkpoints, so that a kill, a crash or a reboot loses at
    most this much of the run (0 = none by time); one is always written at the end."""
    checkpoint_every: int = 0
    """Env steps between checkpoints as well (0 = none by steps)."""
    snapshot_every: int = 0
    """Env steps between snapshots kept apart, checkpoints/step-<N>.ckpt: the agent and run
    without the replay (what best.ckpt holds), so that the run's policy at any of these
    points can be evaluated or played later (0 = none)."""
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
    (process-wide; see rlgames.training.malloc and docs/process.md)."""
    deterministic: bool = False
    """torch.use_deterministic_algorithms(True): needed for bit-identical resumes on GPU."""
    actors: int = 0
    """Ray actors that collect experience for this learner, each stepping its own n_envs
    sub-envs with a CPU copy of the network (0 = the loop steps its own envs); see
    docs/distributed.md. Needs the ray extra."""
    ray_address: str | None = None
    """With actors: the Ray cluster to run them on ("auto", or the head's host:port); None =
    start a Ray instance on this machine for the run."""
    actor_chunk: int = 50
    """With actors: vector steps an actor collects before it sends them, as one chunk."""
    actor_epsilon: float = 0.4
    """With actors: Ape-X's fixed exploration spread, actor i of N acting with
    actor_epsilon ** (1 + actor_epsilon_alpha * i / (N - 1)) (one actor: actor_epsilon)."""
    actor_epsilon_alpha: float = 7.0
    """With actors: the exponent's spread in actor_epsilon's formula."""
    actor_cpus: float = 1.0
    """With actors: Ray CPUs each actor reserves (where Ray may place it)."""
    weights_every: int = 100
    """With actors: gradient steps between broadcasts of the learner's weights to them."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments for rlgames.make_env (skip, size, stack, env options, and
    max_episode_steps for training and in-training evaluation). Given as an override, it is
    merged into the env's row (a key set to null/None there takes the library default)."""

    def __post_init__(self) -> None:
        check_fields(
            self,
            _TRAIN_BOUNDS,
            {
                "vectorization_mode": (None, "sync", "async"),
                "epsilon_schedule": ("linear", "exponential"),
            },
        )
        if self.epsilon_schedule == "exponential" and not self.epsilon_end > 0:
            raise ValueError(
                'TrainConfig.epsilon_end must be > 0 with epsilon_schedule "exponential" '
                f"(it falls by a constant factor), got {self.epsilon_end!r}; give a small "
                'floor such as 0.01, or use "linear"'
            )

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed; unknown names raise TypeError."""
        return dataclasses.replace(self, **changes)


_TRAIN_BOUNDS: Bounds = {
    "n_envs": (1, None),
    "actors": (0, None),
    "actor_chunk": (1, None),
    "actor_epsilon": (0.0, 1.0),
    "actor_epsilon_alpha": (0.0, None),
    "actor_cpus": (0.0, None),
    "weights_every": (1, None),
    "buffer_size": (1, None),
    "learning_starts": (0, None),
    "train_freq": (1, None),
    "gradient_steps": (0, None),
    "epsilon_start": (0.0, 1.0),
    "epsilon_end": (0.0, 1.0),
    "epsilon_decay_steps": (0, None),
    "eval_every": (0, None),
    "eval_episodes": (1, None),
    "max_minutes": (0.0, None),
    "checkpoint_minutes": (0.0, None),
    "checkpoint_every": (0, None),
    "snapshot_every": (0, None),
    "log_every": (0, None),
    "plot_every": (0, None),
    "torch_threads": (0, None),
}


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


def merge_env_kwargs(base: dict[str, Any], given: Any) -> Any:
    """`given` env options merged over `base` (a key set to None drops it); anything but a
    dict is returned as it is, for TrainConfig's check to name."""
    if not isinstance(given, dict):
        return given
    merged = {**base, **given}
    return {k: v for k, v in merged.items() if v is not None}


def to_jsonable(value: Any) -> Any:
    """Tuples to lists, recursively, so a config survives a JSON round trip."""
    if isinstance(value, (tuple, list)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value
