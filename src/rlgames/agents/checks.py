"""What an agent refuses from a direct caller: observations, epsilons and batches that would
otherwise act or train on wrong data without an error. Each check runs once per call."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from rlgames.agents.replay import ReplayBatch


def check_observations(obs: Any, space: spaces.Box) -> tuple[np.ndarray, bool]:
    """(obs as an array, whether it is one observation): one observation of the space's
    shape or a batch of them, in the space's kind of dtype."""
    try:
        obs = np.asarray(obs)
    except ValueError:  # e.g. env.reset()'s (obs, info) tuple
        raise ValueError(
            f"observations must be an array of shape {space.shape} or (B, *{space.shape}), "
            "got something that is not one (pass obs, not (obs, info))"
        ) from None
    single = obs.shape == space.shape
    if not single and obs.shape[1:] != space.shape:
        hint = ""
        if len(space.shape) == 3 and sorted(obs.shape[-3:]) == sorted(space.shape):
            hint = " (channel-first images (C, H, W), as rlgames.make_env gives them)"
        raise ValueError(
            f"observations of shape {obs.shape}: this agent takes one of shape {space.shape} "
            f"or a batch of shape (B, *{space.shape}){hint}"
        )
    if space.dtype == np.uint8 and obs.dtype != np.uint8:
        raise ValueError(
            f"image observations must be uint8 0-255, as the env gives them, got {obs.dtype}: "
            "pass them unscaled (the network divides by 255 itself)"
        )
    if obs.dtype.kind not in "fiub":
        raise ValueError(f"observations must be numbers, got dtype {obs.dtype}")
    return obs, single


def check_epsilon(epsilon: Any) -> float:
    if not (isinstance(epsilon, numbers.Real) and 0.0 <= epsilon <= 1.0):  # NaN fails too
        raise ValueError(f"epsilon must be between 0 and 1, got {epsilon!r}")
    return float(epsilon)


def check_batch(batch: Any, space: spaces.Box, n_actions: int) -> ReplayBatch:
    """A ReplayBatch (a plain tuple of its first six fields too) whose fields all have one
    row per transition, observations of the space's shape, integer actions in range and
    finite rewards; else one ValueError naming the field."""
    batch = ReplayBatch(*batch)
    rows = len(batch.obs)
    if rows == 0:
        raise ValueError("the batch has no transitions")
    for name in ("obs", "next_obs"):
        shape = tuple(getattr(batch, name).shape)
        if shape != (rows, *space.shape):
            raise ValueError(f"batch.{name} has shape {shape}, expected {(rows, *space.shape)}")
    for name in ("actions", "rewards", "discounts", "dones"):
        shape = tuple(getattr(batch, name).shape)
        if shape != (rows,):
            raise ValueError(
                f"batch.{name} has shape {shape}, expected ({rows},): one value per row"
            )
    actions = torch.as_tensor(batch.actions)
    low, high = int(actions.min()), int(actions.max())
    if actions.is_floating_point() or low < 0 or high >= n_actions:
        dtype = (
            str(np.asarray(batch.actions).dtype)
            if not torch.is_tensor(batch.actions)
            else actions.dtype
        )
        raise ValueError(
            f"batch.actions must be integers from 0 to {n_actions - 1}, got {dtype} "
            f"values from {low} to {high}"
        )
    if not torch.isfinite(torch.as_tensor(batch.rewards)).all():
        raise ValueError("batch.rewards holds NaN or infinite values")
    return batch
