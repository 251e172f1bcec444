"""What an agent refuses from a direct caller: observations, epsilons and batches that would
otherwise act or train on wrong data without an error. Each check runs once per call."""

from __future__ import annotations

import json
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
    row per transition, observations of the space's shape, integer actions in range, finite
    rewards and, when given, finite non-negative weights; else one ValueError naming the
    field."""
    batch = ReplayBatch(*batch)
    rows = len(batch.obs)
    if rows == 0:
        raise ValueError("the batch has no transitions")
    for name in ("obs", "next_obs"):
        shape = tuple(getattr(batch, name).shape)
        if shape != (rows, *space.shape):
            raise ValueError(f"batch.{name} has shape {shape}, expected {(rows, *space.shape)}")
    for name in ("actions", "rewards", "discounts", "dones", "weights"):
        if getattr(batch, name) is None:  # weights: uniform sampling
            continue
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
    if batch.weights is not None:
        weights = torch.as_tensor(batch.weights)
        if not (torch.isfinite(weights).all() and (weights >= 0).all()):
            raise ValueError(
                "batch.weights must be finite and >= 0 (importance-sampling weights), got "
                f"values from {float(weights.min())} to {float(weights.max())}"
            )
    return batch


def check_state(
    state: dict[str, torch.Tensor],
    online: torch.nn.Module,
    target: torch.nn.Module,
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    """Check an agent's state_dict() output fits networks `online` and `target` (and Adam
    moments their parameters, a C51 support its values), naming the first misfit; returns
    the decoded act() RNG state for a generator like `rng` (None if absent: an exported
    policy)."""
    fix = (
        "build the agent with the settings it was saved with (agent name, hidden, dueling, "
        "distributional, atoms, noisy, observation and action spaces)"
    )
    expected: dict[str, tuple[int, ...]] = {}
    for prefix, net in (("online", online), ("target", target)):
        for key, value in net.state_dict().items():
            expected[f"{prefix}.{key}"] = tuple(value.shape)
    for key, shape in expected.items():
        if key not in state:
            raise ValueError(f"the state has no {key!r}: {fix}")
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f"{key} has shape {tuple(state[key].shape)} in the state and {shape} in this "
                f"agent: {fix}"
            )
    extra = sorted({k for k in state if k.startswith(("online.", "target."))} - set(expected))
    if extra:
        raise ValueError(f"the state holds {extra[0]!r}, which this agent has not: {fix}")
    for prefix, net in (("online", online), ("target", target)):
        support = net.state_dict().get("support")
        if support is not None and not torch.equal(state[f"{prefix}.support"], support):
            saved = state[f"{prefix}.support"]
            raise ValueError(
                f"{prefix}.support runs from {float(saved[0])} to {float(saved[-1])} in the "
                f"state and from {float(support[0])} to {float(support[-1])} in this agent: "
                "build the agent with the v_min and v_max it was saved with"
            )
    for index, param in enumerate(online.parameters()):
        for name in ("exp_avg", "exp_avg_sq"):
            key = f"optimizer.{index}.{name}"
            if key in state and tuple(state[key].shape) != tuple(param.shape):
                raise ValueError(
                    f"{key} has shape {tuple(state[key].shape)} in the state and "
                    f"{tuple(param.shape)} in this agent: {fix}"
                )
    if "counters.updates" not in state:
        raise ValueError("the state has no 'counters.updates': not an agent state_dict()")
    if "rng.noise" in state:
        try:
            torch.Generator().set_state(state["rng.noise"])  # a throwaway: only the check
        except (RuntimeError, TypeError):
            raise ValueError("the state's rng.noise is not a torch generator state") from None
    if "rng.state" not in state:
        return None
    try:
        rng_state = json.loads(bytes(state["rng.state"].tolist()).decode())
        type(rng.bit_generator)().state = rng_state  # a throwaway: only the check
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise ValueError("the state's rng.state is not a generator state") from None
    return rng_state
