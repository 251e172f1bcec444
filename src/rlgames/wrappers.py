"""Shared preprocessing: one small wrapper per transform, the same for every game.

Gymnasium's own wrappers are reused wherever their meaning fits (`GrayScale`, `Resize`,
`FrameStack` match them, and `preprocess(max_pool=True)` uses
`MaxAndSkipObservation`); only what Gymnasium lacks is written here.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.wrappers import (
    FrameStackObservation,
    MaxAndSkipObservation,
    ReshapeObservation,
    ResizeObservation,
    TransformObservation,
)

LUMA_WEIGHTS = (0.2125, 0.7154, 0.0721)  # as in Gymnasium

__all__ = [
    "ChannelsFirst",
    "CheckAction",
    "FrameStack",
    "GrayScale",
    "Resize",
    "SkipFrame",
    "preprocess",
]


class CheckAction(gym.Wrapper):
    """Refuse an action outside a Discrete action space with one ValueError.

    Emulators index their action tables with it: the ALE and nes_py take -1 as the last action
    and fail on n with an IndexError from deep inside.
    """

    def __init__(self, env: gym.Env):
        if not isinstance(env.action_space, spaces.Discrete):
            raise TypeError(f"CheckAction needs a Discrete action space, got {env.action_space}")
        super().__init__(env)
        self._low = int(env.action_space.start)
        self._high = self._low + int(env.action_space.n)  # exclusive

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        if not (type(action) is int and self._low <= action < self._high) and not (
            self.action_space.contains(action)
        ):
            raise ValueError(
                f"Invalid action {action!r}: {self.spec.id if self.spec else 'this env'} takes "
                f"an integer from {self._low} to {self._high - 1} ({self.action_space})."
            )
        return self.env.step(action)


class SkipFrame(gym.Wrapper):
    """Repeat each action for `skip` frames and sum the rewards, stopping early at episode end.

    Gymnasium only ships `MaxAndSkipObservation`, which also max-pools the last two frames:
    right for Atari's flicker, wrong for games that do not flicker (Mario, Dino), so this
    returns the last frame as it is.
    """

    def __init__(self, env: gym.Env, skip: int):
        if int(skip) < 1:
            raise ValueError(f"skip must be a positive number of frames, got {skip!r}")
        super().__init__(env)
        self.skip = int(skip)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        total = 0.0
        for _ in range(self.skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, info


class GrayScale(TransformObservation):
    """RGB (H, W, 3) → gray (H, W) uint8, by Gymnasium's luma weights (0.2125, 0.7154, 0.0721).

    The output is bit for bit that of `gymnasium.wrappers.GrayscaleObservation` (same float64
    terms, summed in the same order), written as three products instead of
    ``np.sum(np.multiply(obs, w), axis=-1)``: about 8× faster, which keeps the shared
    preprocessing cheap next to the emulators.
    """

    def __init__(self, env: gym.Env):
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 3 or space.shape[-1] != 3:
            raise ValueError(f"GrayScale needs (H, W, 3) RGB observations, got {space}")
        gray_space = spaces.Box(0, 255, space.shape[:2], np.uint8)
        super().__init__(env, _luma, gray_space)


def _luma(obs: np.ndarray) -> np.ndarray:
    r, g, b = LUMA_WEIGHTS
    return (obs[..., 0] * r + obs[..., 1] * g + obs[..., 2] * b).astype(np.uint8)


class Resize(ResizeObservation):
    """Resize frames to `size` (an int for square, or (height, width)) with OpenCV's area filter."""

    def __init__(self, env: gym.Env, size: int | tuple[int, int]):
        shape = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        super().__init__(env, shape)


class FrameStack(FrameStackObservation):
    """Stack the last `n` observations on a new first axis; at reset the stack is the first frame
    repeated, so a stack never holds frames of two episodes."""

    def __init__(self, env: gym.Env, n: int):
        super().__init__(env, int(n), padding_type="reset")


class ChannelsFirst(TransformObservation):
    """Colour frames (H, W, C) → (C, H, W), the layout torch convolutions expect."""

    def __init__(self, env: gym.Env):
        space = env.observation_space
        if not isinstance(space, spaces.Box) or len(space.shape) != 3:
            raise ValueError(f"ChannelsFirst needs (H, W, C) image observations, got {space}")
        new_space = spaces.Box(
            low=np.moveaxis(space.low, -1, 0),
            high=np.moveaxis(space.high, -1, 0),
            dtype=space.dtype,
        )
        super().__init__(env, lambda obs: np.ascontiguousarray(np.moveaxis(obs, -1, 0)), new_space)


def preprocess(
    env: gym.Env,
    *,
    skip: int | None = 4,
    gray: bool = True,
    size: int | tuple[int, int] | None = 84,
    stack: int | None = 4,
    max_pool: bool = False,
) -> gym.Env:
    """Apply the shared pixel pipeline: skip → gray → resize → stack.

    The result is uint8 and channel-first: (stack, H, W) in gray, (stack × 3, H, W) in colour.
    `max_pool=True` skips with Gymnasium's `MaxAndSkipObservation` (max of the last two frames,
    for Atari's flicker). A step of `None` (or 1 for skip/stack) leaves that transform out.
    """
    if skip is not None and int(skip) > 1:
        env = MaxAndSkipObservation(env, skip=int(skip)) if max_pool else SkipFrame(env, skip)
    if gray:
        env = GrayScale(env)
    if size is not None:
        env = Resize(env, size)
    colour = not gray and len(env.observation_space.shape) == 3  # (H, W, C) frames
    if colour:
        env = ChannelsFirst(env)
    if stack is not None and int(stack) > 1:
        env = FrameStack(env, stack)
        shape = env.observation_space.shape
        if colour:  # (stack, C, H, W) → (stack·C, H, W)
            env = ReshapeObservation(env, (shape[0] * shape[1], *shape[2:]))
    return env
