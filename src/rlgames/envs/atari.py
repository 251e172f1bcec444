"""Atari (ALE) helpers: the standard reset and life-loss wrappers Gymnasium does not ship alone.

Gymnasium folds no-op starts and life loss into `AtariPreprocessing`, which also skips,
resizes and grays frames; here each is its own wrapper so the shared pipeline in
`rlgames.wrappers` does the rest, exactly as for every other game.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from rlgames._deps import require


def register_ale() -> None:
    """Make the ``ALE/*`` ids known to Gymnasium (ale-py ships the ROMs)."""
    require("atari", "ale_py")
    import ale_py

    gym.register_envs(ale_py)


def _lives(env: gym.Env) -> int:
    return int(env.unwrapped.ale.lives())


class NoopReset(gym.Wrapper):
    """Start each episode with a random number (1 to `noop_max`) of no-op frames, drawn from the
    env's seeded generator, so starts differ without breaking `reset(seed=...)` reproducibility."""

    def __init__(self, env: gym.Env, noop_max: int = 30):
        super().__init__(env)
        self.noop_max = int(noop_max)
        meanings = env.unwrapped.get_action_meanings()
        if meanings[0] != "NOOP":
            raise ValueError(f"NoopReset needs action 0 to be NOOP, got {meanings[0]!r}")

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        for _ in range(int(self.unwrapped.np_random.integers(1, self.noop_max + 1))):
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset()
        return obs, info


class FireReset(gym.Wrapper):
    """Press FIRE after reset and after each lost life, for games (Breakout) that wait for it
    before play starts and again before each new ball.

    Under `EpisodicLife` (training) a lost life ends the episode, so the next reset serves; in
    a whole game (evaluation) this wrapper serves after the step that lost the life, with the
    same presses. Either way the agent never has to learn to serve, as with CleanRL's and
    SB3's Atari wrappers, so a greedy agent cannot stall a game by not serving. It applies to
    every ALE game whose action 1 is FIRE.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        meanings = env.unwrapped.get_action_meanings()
        if len(meanings) < 3 or meanings[1] != "FIRE":
            raise ValueError(f"FireReset needs action 1 to be FIRE, got {meanings}")
        self.lives = 0

    SERVE = (1, 2)
    """The presses that start a ball: FIRE, then action 2 (for games that need both)."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.env.reset(**kwargs)
        for action in self.SERVE:
            obs, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                obs, info = self.env.reset()
        self.lives = _lives(self.env)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        lives = _lives(self.env)
        if 0 < lives < self.lives:  # the same presses as a reset, their rewards counted
            for serve in self.SERVE:
                if terminated or truncated:
                    break
                obs, extra, terminated, truncated, info = self.env.step(serve)
                reward = float(reward) + float(extra)
        self.lives = lives
        return obs, reward, terminated, truncated, info


class EpisodicLife(gym.Wrapper):
    """End the episode (terminated=True) when a life is lost, for training only: the next
    `reset()` continues the same game, and only a real game over resets the emulator."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.lives = 0
        self.game_over = True

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.game_over = terminated or truncated
        lives = _lives(self.env)
        if 0 < lives < self.lives:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        if self.game_over or kwargs.get("seed") is not None:
            obs, info = self.env.reset(**kwargs)
        else:  # a life was lost: carry on from where the game stands
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                obs, info = self.env.reset(**kwargs)
        self.game_over = False
        self.lives = _lives(self.env)
        return obs, info
