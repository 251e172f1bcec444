"""Greedy evaluation, and loading a trained agent (with its env) from a checkpoint."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlgames.agents import make_agent
from rlgames.checkpoint import check_compatible, load_checkpoint
from rlgames.envs.factory import make_env


def evaluate(agent: Any, env: gym.Env, episodes: int, seeds: Iterable[int]) -> np.ndarray:
    """Greedy returns of `episodes` episodes; episode i is reset with the i-th seed."""
    returns = []
    for _, seed in zip(range(episodes), seeds):
        obs, _ = env.reset(seed=int(seed))
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(agent.act(obs, epsilon=0.0))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return np.asarray(returns, dtype=np.float64)


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (its checkpoints/latest.ckpt)."""
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


def load_agent(
    path: str | Path, env_id: str | None = None, **env_kwargs: Any
) -> tuple[Any, gym.Env, dict[str, Any]]:
    """(agent, env, meta) from a checkpoint file or run directory, for evaluation or play.

    The env is built as in training (the run's env_kwargs) but without life loss or reward
    clipping; `env_id` defaults to the checkpoint's and must have the same spaces.
    """
    tensors, _, meta = load_checkpoint(resolve_checkpoint(path))
    env_id = env_id or meta["env_id"]
    saved = {k: v for k, v in meta["train_config"]["env_kwargs"].items() if k not in MACHINE_KEYS}
    env = make_env(env_id, **{**saved, **env_kwargs})
    try:
        check_compatible(
            meta, observation_space=env.observation_space, action_space=env.action_space
        )
        agent_config = dict(meta["agent_config"])
        agent = make_agent(meta["agent"], env.observation_space, env.action_space, **agent_config)
        agent.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("trainer.")})
    except BaseException:
        env.close()
        raise
    return agent, env, meta
