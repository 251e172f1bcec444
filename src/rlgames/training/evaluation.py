"""Greedy (or epsilon-greedy) evaluation, and loading a trained agent (with its env) from a
checkpoint."""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgames.agents import make_agent
from rlgames.agents.checks import check_epsilon
from rlgames.envs.factory import make_env, resolve_id
from rlgames.training.checkpoint import (
    CheckpointError,
    check_compatible,
    load_parts,
    save_parts,
)
from rlgames.training.collector import EPISODE_INFO


def play_episode(
    agent: Any,
    env: Any,
    seed: int,
    max_steps: int | None = None,
    record_from: int | None = None,
    epsilon: float = 0.0,
) -> tuple[float, int, list[Any], dict[str, Any]]:
    """One greedy (or epsilon-greedy) episode, cut after `max_steps` steps (None: played to its
    end): (return, length, raw rgb frames of env.render() from step `record_from` on (none if
    None), the last info). With `epsilon` > 0 it is `evaluate_episodes`' episode of this seed
    and epsilon."""
    obs, info = env.reset(seed=seed)
    randoms = _RandomActions(seed, env.action_space) if check_epsilon(epsilon) else None
    frames: list[Any] = []
    total, length, done = 0.0, 0, False
    while not done and (max_steps is None or length < max_steps):
        if record_from is not None and length >= record_from:
            frames.append(env.render())
        action = agent.act(obs, epsilon=0.0)
        if randoms is not None:
            action = randoms.replace(action, epsilon)
        obs, reward, terminated, truncated, info = env.step(action)
        total, length, done = total + float(reward), length + 1, terminated or truncated
    if record_from is not None:
        frames.append(env.render())
    return total, length, frames, info


def evaluate(agent: Any, env: gym.Env, episodes: int, seeds: Iterable[int]) -> np.ndarray:
    """Greedy returns of `episodes` episodes; episode i is reset with the i-th seed."""
    return evaluate_episodes(agent, env, episodes, seeds)["return"]


def evaluate_episodes(
    agent: Any,
    env: gym.Env | gym.vector.VectorEnv,
    episodes: int,
    seeds: Iterable[int],
    callback: Callable[[int, dict[str, float]], None] | None = None,
    *,
    max_score: float | None = None,
    epsilon: float = 0.0,
) -> dict[str, np.ndarray]:
    """Greedy (or epsilon-greedy) episodes; episode i is reset with the i-th seed.

    `env` is one env, or a vector env made with autoreset disabled (``make_env(id,
    n_envs=N, autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED)``): its N sub-envs then
    play N episodes at once, acting as one batch, each taking the next seed when its episode
    ends. Episode i is the same game either way. A sub-env left without seeds plays on
    uncounted until the last episode ends.

    Returns arrays (one entry per episode, in seed order) under "seed", "return", "length"
    and each `EPISODE_INFO` key the game reports in ``info`` (Chrome Dino "score"; Super Mario
    Bros "score", "x_pos", "flag_get"), its value at the episode's end. `max_score` stops an
    episode once its score (the game's own, else its return) reaches it; the episode counts
    exactly `max_score`, and "stopped" (1.0 or 0.0) says which episodes it stopped.
    `epsilon` > 0 replaces each action by a uniformly random one with that probability (the
    Nature DQN evaluation used 0.05): a greedy agent that stands still, its stacked frames
    unchanged, would repeat its action until the episode's clock runs out. The random choices
    of episode i come from a generator seeded by its seed, so it stays the same game on one
    env or in any batch. `callback(i, row)` sees each episode's row as it ends (with several
    sub-envs, not in seed order).
    """
    seeds = _episode_seeds(episodes, seeds)
    if max_score is not None and not max_score > 0:
        raise ValueError(f"max_score must be a positive number, got {max_score!r}")
    epsilon = check_epsilon(epsilon)
    games = _Games(env)
    n = games.num_envs
    if n > episodes:
        raise ValueError(
            f"{episodes} episodes on a vector env of {games.num_envs} sub-envs: make it with "
            f"n_envs <= episodes"
        )
    playing = list(range(n))  # the episode each sub-env plays, -1: none (playing on uncounted)
    rows: list[dict[str, float]] = [{}] * episodes
    obs = games.reset(seeds[:n], np.ones(n, dtype=bool))
    randoms = [_RandomActions(seed, games.action_space) for seed in seeds[:n]] if epsilon else []
    returns, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
    next_episode = n
    while max(playing) >= 0:
        actions = agent.act(obs, epsilon=0.0)
        if epsilon > 0:
            actions = games.batch(
                [r.replace(a, epsilon) for r, a in zip(randoms, games.each(actions))]
            )
        obs, reward, ended, infos = games.step(actions)
        scores = infos["score"]
        returns += reward
        lengths += 1
        reached = np.zeros(n, dtype=bool)
        if max_score is not None:
            measured = np.where(np.isnan(scores), returns, scores)
            reached = measured >= max_score
        if not (ended | reached).any():
            continue
        reset_seeds: list[int | None] = [None] * n
        for env_index in np.flatnonzero(ended | reached):
            episode = playing[env_index]
            if episode >= 0:
                row = {
                    "seed": seeds[episode],
                    "return": float(returns[env_index]),
                    "length": int(lengths[env_index]),
                }
                for key, values in infos.items():
                    if not np.isnan(values[env_index]):
                        row[key] = float(values[env_index])
                if max_score is not None:
                    key = "score" if "score" in row else "return"
                    row[key] = min(row[key], float(max_score))
                    row["stopped"] = float(reached[env_index])
                rows[episode] = row
                if callback is not None:
                    callback(episode, row)
            if next_episode < episodes:
                playing[env_index], reset_seeds[env_index] = next_episode, seeds[next_episode]
                if epsilon:
                    randoms[env_index] = _RandomActions(seeds[next_episode], games.action_space)
                next_episode += 1
            else:
                playing[env_index] = -1
            returns[env_index], lengths[env_index] = 0.0, 0
        if max(playing) >= 0:  # sub-envs still playing: the ended ones start anew
            obs = games.reset(reset_seeds, ended | reached)
    keys = dict.fromkeys(k for r in rows for k in r)  # a score some sub-envs lacked: nan
    return {k: np.asarray([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in keys}


def _episode_seeds(episodes: int, seeds: Iterable[int]) -> list[int]:
    """The first `episodes` seeds, checked: a positive count, and as many integer seeds."""
    if isinstance(episodes, bool) or not isinstance(episodes, numbers.Integral) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    try:
        chosen = list(itertools.islice(seeds, episodes))
    except TypeError:
        raise ValueError(
            f"seeds must be an iterable of ints (e.g. range(10)), got {seeds!r}"
        ) from None
    if len(chosen) < episodes:
        raise ValueError(f"{episodes} episodes need as many seeds; got {len(chosen)}")
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in chosen):
        raise ValueError(f"seeds must be integers, got {chosen}")
    return [int(s) for s in chosen]


class _RandomActions:
    """One episode's random actions for epsilon-greedy evaluation, from a generator of its own
    seeded by the episode's seed (apart from the env's generator of the same seed)."""

    def __init__(self, seed: int, space: gym.Space) -> None:
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(
                f"epsilon-greedy play needs a Discrete action space, not {space}; use epsilon=0"
            )
        self.rng = np.random.default_rng([seed, _EPSILON_STREAM])
        self.start, self.n_actions = int(space.start), int(space.n)

    def replace(self, action: int, epsilon: float) -> int:
        """`action`, or with probability `epsilon` a uniformly random one."""
        at_random = self.rng.random() < epsilon
        return self.start + int(self.rng.integers(self.n_actions)) if at_random else int(action)


_EPSILON_STREAM = 0x65707331  # apart from the env's np_random, which a seed alone seeds


class _Games:
    """One env or a vector env behind one interface: reset some sub-envs with seeds, step all
    of them, and read rewards, ends and the `EPISODE_INFO` numbers (nan where a game reports
    none) as arrays. One env's observation goes to the agent as it is, a vector env's as a batch."""

    def __init__(self, env: gym.Env | gym.vector.VectorEnv) -> None:
        self.env = env
        self.batched = isinstance(env, gym.vector.VectorEnv)
        self.num_envs = env.num_envs if self.batched else 1
        self.action_space = env.single_action_space if self.batched else env.action_space
        if self.batched:
            mode = env.metadata.get("autoreset_mode")
            if mode != gym.vector.AutoresetMode.DISABLED:
                raise ValueError(
                    f"evaluation needs a vector env without autoreset (it has {mode}): make "
                    "it with autoreset_mode=gymnasium.vector.AutoresetMode.DISABLED"
                )

    def reset(self, seeds: list[int | None], mask: np.ndarray) -> Any:
        if self.batched:
            obs, _ = self.env.reset(seed=list(seeds), options={"reset_mask": mask})
            return obs
        return self.env.reset(seed=seeds[0])[0]

    def each(self, actions: Any) -> list[int]:
        """The agent's action for each sub-env."""
        return [int(a) for a in np.atleast_1d(actions)]

    def batch(self, actions: list[int]) -> Any:
        """Actions for each sub-env as `step` takes them."""
        return np.asarray(actions, dtype=np.int64) if self.batched else actions[0]

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        if self.batched:
            obs, reward, terminated, truncated, info = self.env.step(actions)
            infos = {}
            for key in EPISODE_INFO:
                values = np.full(self.num_envs, np.nan)
                if key in info:
                    present = info.get(f"_{key}", np.ones(self.num_envs, dtype=bool))
                    values[present] = np.asarray(info[key], dtype=np.float64)[present]
                infos[key] = values
            return obs, np.asarray(reward, np.float64), terminated | truncated, infos
        obs, reward, terminated, truncated, info = self.env.step(actions)
        infos = {k: np.array([float(info[k]) if k in info else np.nan]) for k in EPISODE_INFO}
        ended = np.array([terminated or truncated])
        return obs, np.array([float(reward)]), ended, infos


PRETRAINED: dict[str, str] = {
    "ChromeDino-v0": "chromedino-v0.ckpt",
    "ChromeDino-v0:state": "chromedino-v0-state.ckpt",
    "ALE/Breakout-v5": "breakout-v5.ckpt",
    "rlgames/SuperMarioBros-1-1-v0": "supermariobros-1-1-v0.ckpt",
}
"""Agents shipped in the package (rlgames/pretrained/), by env id[:variant]. The pixel agent
of docs/results/dino.md is "ChromeDino-v0", its state-vector (MLP) baseline "...:state"; the
Breakout agent of docs/results/breakout.md is "ALE/Breakout-v5"; the Super Mario Bros 1-1
agent of docs/results/mario.md is "rlgames/SuperMarioBros-1-1-v0"."""


def pretrained_path(name: str = "ChromeDino-v0") -> Path:
    """The shipped checkpoint for an env id (``"ChromeDino-v0"``) or ``"<id>:<variant>"``."""
    from importlib.resources import files

    if name not in PRETRAINED:
        raise ValueError(f"no pretrained agent {name!r}; shipped: {', '.join(sorted(PRETRAINED))}")
    path = Path(str(files("rlgames") / "pretrained" / PRETRAINED[name]))
    if not path.is_file():
        raise FileNotFoundError(
            f"the pretrained agent {name!r} is missing from the package: {path}"
        )
    return path


def resolve_checkpoint(path: str | Path, env_id: str | None = None) -> Path:
    """A checkpoint file, a run directory (its checkpoints/latest.ckpt), or ``pretrained``
    (the shipped agent for `env_id`, default ChromeDino-v0) / ``pretrained:<variant>``."""
    text = str(path)
    if text == "pretrained" or text.startswith("pretrained:"):
        variant = text.partition(":")[2]
        name = resolve_id(env_id) if env_id else "ChromeDino-v0"
        return pretrained_path(f"{name}:{variant}" if variant else name)
    path = Path(path)
    if path.is_dir():
        candidate = path / "checkpoints" / "latest.ckpt"
        if not candidate.exists():
            raise FileNotFoundError(f"{path} is a directory without checkpoints/latest.ckpt")
        return candidate
    return path


#: Env keywords that name programs on the machine: a checkpoint (a file from anywhere) may not
#: choose what runs, so these come only from the caller.
MACHINE_KEYS = frozenset({"chrome_path", "driver_path", "headless"})

#: Env keywords of training only: episodes cut short for training are played whole here
#: unless the caller asks for a limit.
TRAINING_ONLY_KEYS = frozenset({"max_episode_steps"})


def load_agent(
    path: str | Path,
    env_id: str | None = None,
    *,
    device: str = "auto",
    n_envs: int = 1,
    **env_kwargs: Any,
) -> tuple[Any, gym.Env | gym.vector.VectorEnv, dict[str, Any]]:
    """(agent, env, meta) from a checkpoint file or run directory, for evaluation or play.

    The env is built as in training (the run's env_kwargs) but without life loss or reward
    clipping; `env_id` defaults to the checkpoint's and must have the same spaces. With
    `n_envs` > 1 it is a vector env of that many, without autoreset, for
    `evaluate_episodes` to play several episodes at once. The agent goes to `device`
    ("auto": CUDA when there is one, else CPU), wherever it was trained.
    """
    states, meta = load_parts(resolve_checkpoint(path, env_id))
    try:
        run_env_kwargs = dict(meta["train_config"]["env_kwargs"])
        env_id = env_id or meta["env_id"]
        agent_name, agent_config = meta["agent"], {**meta["agent_config"], "device": device}
    except (KeyError, TypeError) as error:
        raise CheckpointError(
            f"{path}: the checkpoint's meta has no {error}: it was not written by an rlgames "
            "run (Trainer.save or export_policy)"
        ) from None
    dropped = MACHINE_KEYS | TRAINING_ONLY_KEYS
    saved = {k: v for k, v in run_env_kwargs.items() if k not in dropped}
    vector = {"n_envs": n_envs, "autoreset_mode": gym.vector.AutoresetMode.DISABLED}
    env = make_env(env_id, **{**saved, **env_kwargs}, **(vector if n_envs > 1 else {}))
    obs_space = getattr(env, "single_observation_space", env.observation_space)
    action_space = getattr(env, "single_action_space", env.action_space)
    try:
        try:
            check_compatible(meta, observation_space=obs_space, action_space=action_space)
        except CheckpointError as error:
            raise CheckpointError(
                f"{path}: {error} ({env_id} with these env options). Evaluate it on the env "
                f"it was trained on, {meta['env_id']}, with the run's env options: leave out "
                "env_id / --env and the env options that change the observations or actions."
            ) from None
        agent = make_agent(agent_name, obs_space, action_space, **agent_config)
        state = dict(states.get("agent", {}))
        if not any(k.startswith("target.") for k in state):  # an exported policy
            state.update({"target" + k[6:]: v for k, v in state.items() if k.startswith("online.")})
        agent.load_state_dict(state)
    except BaseException:
        env.close()
        raise
    return agent, env, meta


#: Meta keys an exported policy keeps: what loading and describing it needs.
POLICY_META_KEYS = (
    "env_id",
    "agent",
    "seed",
    "observation_space",
    "action_space",
    "agent_config",
    "train_config",
    "step",
    "episodes",
    "elapsed_s",
)


def export_policy(
    src: str | Path, dst: str | Path, *, half: bool = False, **extra_meta: Any
) -> Path:
    """Write a small checkpoint holding only what acting needs: the online network's weights
    and the run's configuration (no target network, optimizer, replay or RNG states).

    `load_agent` and ``rlgames eval|play --checkpoint`` read it like any checkpoint; it cannot
    be resumed. `half` stores the weights as float16 (half the file; they are cast back to
    float32 on loading, so greedy actions can differ where two Q-values lie within float16's
    rounding: evaluate the exported file, not its source). `extra_meta` (JSON values) is
    stored under meta["export"], e.g. where the weights came from.
    """
    states, meta = load_parts(resolve_checkpoint(src))
    agent = states.get("agent", {})
    kept = {k: v for k, v in agent.items() if k.startswith("online.")}
    if half:  # the parameters; a C51 support stays exact (loading checks it)
        import torch

        kept = {
            k: v.half() if v.dtype == torch.float32 and not k.endswith("support") else v
            for k, v in kept.items()
        }
    kept["counters.updates"] = agent["counters.updates"]
    small = {k: meta[k] for k in POLICY_META_KEYS if k in meta}
    small["export"] = {"policy_only": True, **({"dtype": "float16"} if half else {}), **extra_meta}
    return save_parts(dst, {"agent": _State(kept)}, small)


class _State:
    """A state dict standing for its part (the exported agent's weights)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, Any]:
        return self.state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.state = dict(state)
