"""Collecting experience: a vector env stepped with the agent's actions, its episodes tracked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from rlgames.training.envstate import capture_envs, restore_envs

EPISODE_INFO = ("score", "x_pos", "flag_get")
"""Numbers read from ``info`` at an episode's end, where the game reports them: its own score
(Chrome Dino, Super Mario Bros), and Mario's x position and whether it reached the flag (1.0
or 0.0; the mean over episodes is the flag rate)."""


@dataclass
class Episode:
    """An episode that has just ended in sub-env `env` (`score`: the game's own, if any;
    `info`: the other `EPISODE_INFO` numbers its game reports, e.g. Mario's x_pos)."""

    env: int
    ret: float
    length: int
    score: float | None
    info: dict[str, float] = field(default_factory=dict)


class Collector:
    """Steps a same-step-autoreset vector env and hands back each step's transitions (with
    the real final observation of an ended episode, not the reset one) and ended episodes.
    Its state (current observations, returns and lengths so far, the sub-envs' own) is a
    part of the run's checkpoint."""

    def __init__(self, envs: gym.vector.VectorEnv, seed: int) -> None:
        self.envs, self.seed = envs, seed
        self.obs, _ = envs.reset(seed=seed)
        self.ep_return = np.zeros(envs.num_envs, dtype=np.float64)
        self.ep_length = np.zeros(envs.num_envs, dtype=np.int64)
        self.continued = True
        """False after a load_state_dict that could not continue the episodes in progress."""

    def step(self, actions: np.ndarray) -> tuple[tuple, list[Episode]]:
        """One vector step: ((obs, actions, rewards, next_obs, terminated, truncated) as the
        replay's `add` takes them, the episodes that ended)."""
        next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
        done = terminated | truncated
        real_next = next_obs
        if done.any():
            real_next = next_obs.copy()
            for i in np.flatnonzero(done):
                real_next[i] = infos["final_obs"][i]
        transition = (self.obs, actions, rewards, real_next, terminated, truncated)
        self.ep_return += rewards
        self.ep_length += 1
        ended = []
        if done.any():
            final = final_info(infos)
            for i in np.flatnonzero(done):
                numbers = {k: float(v[i]) for k, (v, has) in final.items() if has[i]}
                score = numbers.pop("score", None)
                ret, length = float(self.ep_return[i]), int(self.ep_length[i])
                ended.append(Episode(int(i), ret, length, score, numbers))
                self.ep_return[i], self.ep_length[i] = 0.0, 0
        self.obs = next_obs
        return transition, ended

    def state_dict(self) -> dict[str, Any]:
        meta, arrays = capture_envs(self.envs)
        return {
            "obs": np.asarray(self.obs),
            "ep_return": self.ep_return.copy(),
            "ep_length": self.ep_length.copy(),
            "envs": meta,
            **{f"env.{k}": np.asarray(v) for k, v in arrays.items()},
        }

    def load_state_dict(self, state: dict[str, Any], reset_seed: int | None = None) -> None:
        """Continue the saved episodes where the envs' state can be put back (classic
        control); else start new ones, reset with `reset_seed` (default: the seed), and set
        `continued` False."""
        arrays = {k[4:]: v for k, v in state.items() if k.startswith("env.")}
        self.continued = restore_envs(self.envs, state["envs"], arrays)
        if self.continued:
            self.obs = state["obs"].copy()
            self.ep_return = state["ep_return"].copy()
            self.ep_length = state["ep_length"].copy()
        else:
            self.obs, _ = self.envs.reset(seed=self.seed if reset_seed is None else reset_seed)
            self.ep_return[:], self.ep_length[:] = 0.0, 0


def final_info(infos: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each `EPISODE_INFO` key the game reports at the end of episodes: key -> (values, which
    sub-envs have one). With same-step autoreset the ending step's info is under
    "final_info" (infos itself is the new episode's)."""
    final = infos.get("final_info", infos)
    found = {}
    for key in EPISODE_INFO:
        if key in final:
            values = np.asarray(final[key], dtype=np.float64)
            found[key] = values, np.asarray(final.get(f"_{key}", np.ones(len(values), bool)))
    return found
