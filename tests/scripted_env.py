"""A tiny deterministic env for wrapper tests: frame t is filled with the value t."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class CounterEnv(gym.Env):
    """Observation at step t is an (H, W, 3) image of value `10 * episode + t`; reward is t;
    the episode terminates after `length` steps (or truncates, if `truncate=True`)."""

    metadata = {"render_modes": []}

    def __init__(self, length: int = 5, shape: tuple[int, int] = (6, 8), truncate: bool = False):
        self.length = length
        self.truncate = truncate
        self.observation_space = spaces.Box(0, 255, (*shape, 3), np.uint8)
        self.action_space = spaces.Discrete(2)
        self.episode = -1
        self.t = 0
        self.steps_taken = 0

    def _obs(self) -> np.ndarray:
        return np.full(self.observation_space.shape, 10 * self.episode + self.t, np.uint8)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.episode += 1
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        self.steps_taken += 1
        done = self.t >= self.length
        terminated, truncated = (False, done) if self.truncate else (done, False)
        return self._obs(), float(self.t), terminated, truncated, {"t": self.t}
