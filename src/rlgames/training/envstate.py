"""What of a vector env's sub-envs a checkpoint can hold, and putting it back on resume.

Exact for classic-control envs (CartPole...) in a sync vector env, their rendered pixel
stacks included; for emulator and browser
envs only each sub-env's generator is kept, and a resume starts new, seeded episodes there.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

# Per-wrapper counters that decide what the next step returns (by wrapper class name).
# TimeLimit and OrderEnforcing keep theirs in underscore attributes and offer no public
# setter: restoring an episode in progress needs them, so they are read and set by name.
_WRAPPER_STATE = {
    "TimeLimit": ("_elapsed_steps",),
    "OrderEnforcing": ("_has_reset",),
    "EpisodicLife": ("lives", "game_over"),
    "FireReset": ("lives",),
}
_SCALARS = (bool, int, float, str, type(None))
_QUEUES = (gym.wrappers.FrameStackObservation,)
"""Wrappers whose `obs_queue` (the last frames) makes the next observation: rendered pixel
stacks of a classic-control env (``make_env("CartPole-v1", size=48)``) continue exactly too."""


def _restorable(env: gym.Env) -> bool:
    """Classic-control envs keep their whole state in `state` plus scalar attributes."""
    return type(env.unwrapped).__module__.startswith("gymnasium.envs.classic_control")


def _wrappers(env: gym.Env) -> list[gym.Env]:
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def capture_envs(envs: gym.vector.VectorEnv) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each sub-env's generator state and, where restorable, its full in-episode state.

    Exact for classic-control envs (CartPole...) in a sync vector env: physics state, scalar
    attributes, TimeLimit counters and the generator. For emulator and browser envs (ALE,
    NES, Chromium) only the generator is saved: a resume starts new, seeded episodes there.
    """
    subs = getattr(envs, "envs", None)
    if subs is None:  # async vector env: the sub-envs live in other processes
        return [], {}
    meta: list[dict[str, Any]] = []
    arrays: dict[str, Any] = {}
    for i, env in enumerate(subs):
        u = env.unwrapped
        m: dict[str, Any] = {"restorable": _restorable(env), "wrappers": {}}
        m["np_random"] = u.np_random.bit_generator.state  # set: the Collector reset the envs
        for depth, w in enumerate(_wrappers(env)):
            for attr in _WRAPPER_STATE.get(type(w).__name__, ()):
                m["wrappers"][f"{depth}.{attr}"] = getattr(w, attr)
        if m["restorable"]:
            m["scalars"] = {k: v for k, v in vars(u).items() if isinstance(v, _SCALARS)}
            if getattr(u, "state", None) is not None:
                arrays[f"{i}.state"] = np.array(u.state)
            for depth, w in enumerate(_wrappers(env)):
                if isinstance(w, _QUEUES):
                    arrays[f"{i}.{depth}.obs_queue"] = np.stack(list(w.obs_queue))
        meta.append(m)
    return meta, arrays


def restore_envs(
    envs: gym.vector.VectorEnv, meta: list[dict[str, Any]], arrays: dict[str, Any]
) -> bool:
    """Put back what `capture_envs` saved; True when the episodes continue exactly."""
    subs = getattr(envs, "envs", None)
    if subs is None or len(meta) != len(subs):
        return False
    exact = all(m["restorable"] for m in meta)
    for i, (env, m) in enumerate(zip(subs, meta)):
        u = env.unwrapped
        if "np_random" in m:
            u.np_random.bit_generator.state = m["np_random"]
        if not exact:
            continue
        chain = _wrappers(env)
        for key, value in m["wrappers"].items():
            depth, attr = key.split(".", 1)
            setattr(chain[int(depth)], attr, value)
        for key, value in m["scalars"].items():
            setattr(u, key, value)
        if f"{i}.state" in arrays:
            u.state = np.array(arrays[f"{i}.state"])
        for depth, w in enumerate(chain):
            if isinstance(w, _QUEUES) and f"{i}.{depth}.obs_queue" in arrays:
                w.obs_queue.clear()
                w.obs_queue.extend(np.array(arrays[f"{i}.{depth}.obs_queue"]))
    return exact
