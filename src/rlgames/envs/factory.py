"""`make_env`: one entry point that builds any supported game with the shared preprocessing.

Per-game defaults live in `GAME_DEFAULTS`, in one place. A keyword left as ``None`` takes the
game's default; pass a value to override it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import registry
from gymnasium.wrappers import (
    AddRenderObservation,
    ClipReward,
    MaxAndSkipObservation,
    TimeLimit,
)

from rlgames.process import ignore_sigint_in_child
from rlgames.registration import DINO_ID, MARIO_NAMESPACE
from rlgames.wrappers import CheckAction, FrameStack, preprocess

#: Preprocessing defaults per game family. ``skip`` in frames, ``size`` in pixels (square),
#: ``stack`` in frames. CartPole keeps its 4-float state; pixel games become (4, 84, 84) uint8.
GAME_DEFAULTS: dict[str, dict[str, Any]] = {
    "classic": {"skip": None, "gray": False, "size": None, "stack": None, "vector": "sync"},
    "atari": {"skip": 4, "gray": True, "size": 84, "stack": 4, "vector": "sync", "noop_max": 30},
    "dino": {"skip": 4, "gray": True, "size": 84, "stack": 4, "vector": "async"},
    "mario": {"skip": 4, "gray": True, "size": 84, "stack": 4, "vector": "async", "noop_max": 30},
}


def resolve_id(env_id: str) -> str:
    """Accept Mario ids without their namespace: ``SuperMarioBros-1-1-v0``."""
    if env_id.startswith("rlgames:"):
        env_id = env_id.split(":", 1)[1]
    if env_id.startswith("SuperMarioBros") and env_id not in registry:
        return f"{MARIO_NAMESPACE}/{env_id}"
    return env_id


def game_family(env_id: str) -> str:
    """Which row of `GAME_DEFAULTS` an id uses."""
    env_id = resolve_id(env_id)
    if env_id == DINO_ID:
        return "dino"
    if env_id.startswith(f"{MARIO_NAMESPACE}/SuperMarioBros"):
        return "mario"
    if env_id.startswith("ALE/") or "NoFrameskip" in env_id:
        return "atari"
    return "classic"


def frames_per_observation(env_id: str, stack: int | None = None) -> int:
    """How many frames `make_env` stacks into one observation (1 when it stacks none)."""
    stack = GAME_DEFAULTS[game_family(env_id)]["stack"] if stack is None else stack
    return max(1, int(stack or 1))


def make_env(
    env_id: str,
    *,
    n_envs: int = 1,
    skip: int | None = None,
    gray: bool | None = None,
    size: int | tuple[int, int] | None = None,
    stack: int | None = None,
    seed: int | None = None,
    episodic_life: bool = False,
    clip_reward: bool = False,
    vectorization_mode: str | None = None,
    autoreset_mode: Any = None,
    **env_kwargs: Any,
) -> gym.Env | gym.vector.VectorEnv:
    """Build `env_id` with the shared preprocessing; a vector env of `n_envs` copies if > 1.

    Pixel games return uint8 channel-first stacks (``stack, H, W``); CartPole and other
    state-vector envs stay as they are unless pixel options are asked for (then frames come
    from ``render()``). Atari: the ALE's own frameskip is set to 1 so `skip` is ours (max-pooled
    over the last two frames against flicker), with random no-op starts and FIRE on reset;
    `episodic_life` ends episodes on a lost life (for training); `clip_reward` clips rewards to
    [-1, 1]. Mario starts each episode after 0-30 seeded no-op frames (``noop_max``; 0 for
    none), as Atari does, so that the deterministic emulator plays more than one game. If
    `seed` is given, the env is reset once with it (sub-env i of a vector env gets
    seed + i) and its action space seeded, so later ``reset()`` calls continue reproducibly.
    `max_episode_steps` (a keyword for the game; 0 = none but the game's own) counts the
    agent's steps: on Atari and Mario it is applied above the frame skip, not to the
    emulator's frames; with `episodic_life` it is the whole game's limit, across lives, and
    the FIRE presses that start a life count too. `vectorization_mode` is "sync" or "async"
    (per-game default; an async env's workers ignore SIGINT, see `rlgames.process`);
    `autoreset_mode` is passed to the vector env (e.g.
    ``gymnasium.vector.AutoresetMode.SAME_STEP``). Other keywords go to the game's constructor.
    """
    env_id = resolve_id(env_id)
    family = game_family(env_id)
    if family == "atari":
        from rlgames.envs.atari import register_ale

        register_ale()
    defaults = GAME_DEFAULTS[family]
    options = {
        "skip": defaults["skip"] if skip is None else skip,
        "gray": defaults["gray"] if gray is None else gray,
        "size": defaults["size"] if size is None else size,
        "stack": defaults["stack"] if stack is None else stack,
    }
    explicit_stack = stack is not None

    def build() -> gym.Env:
        return _make_one(
            env_id, family, options, explicit_stack, episodic_life, clip_reward, env_kwargs
        )

    if n_envs < 1:
        raise ValueError(f"n_envs must be at least 1, got {n_envs}")
    if n_envs == 1:
        env = build()
        if seed is not None:
            env.reset(seed=seed)
            env.action_space.seed(seed)
        return env
    mode = vectorization_mode or defaults["vector"]
    vector_kwargs = {} if autoreset_mode is None else {"autoreset_mode": autoreset_mode}
    fns: list[Callable[[], gym.Env]] = [build] * n_envs
    if mode == "sync":
        envs = gym.vector.SyncVectorEnv(fns, **vector_kwargs)
    elif mode == "async":
        parent = os.getpid()

        def build_in_worker() -> gym.Env:
            ignore_sigint_in_child(parent)  # Ctrl-C is the main process's (rlgames.process)
            return build()

        envs = gym.vector.AsyncVectorEnv([build_in_worker] * n_envs, **vector_kwargs)
    else:
        raise ValueError(f'vectorization_mode must be "sync" or "async", got {mode!r}')
    if seed is not None:
        envs.reset(seed=seed)
        envs.action_space.seed(seed)
    return envs


def _make_one(
    env_id: str,
    family: str,
    options: dict[str, Any],
    explicit_stack: bool,
    episodic_life: bool,
    clip_reward: bool,
    env_kwargs: dict[str, Any],
) -> gym.Env:
    skip, gray, size, stack = options["skip"], options["gray"], options["size"], options["stack"]
    env_kwargs = dict(env_kwargs)  # each sub-env gets the caller's keywords afresh
    if env_kwargs.get("max_episode_steps") == 0:  # 0: none added (TOML has no null)
        del env_kwargs["max_episode_steps"]
    if family == "dino":
        obs_type = env_kwargs.pop("obs_type", "grayscale" if gray else "rgb")
        env_kwargs.setdefault("frame_skip", skip or 1)
        if obs_type == "grayscale":  # skip, gray and resize run fused inside the page
            env = gym.make(env_id, obs_type=obs_type, screen_size=size or 84, **env_kwargs)
            env = FrameStack(env, stack) if stack and stack > 1 else env
        elif obs_type == "rgb":
            env = gym.make(env_id, obs_type=obs_type, **env_kwargs)
            env = preprocess(env, skip=None, gray=gray, size=size, stack=stack)
        else:  # "state": a float vector; stack only when asked for
            env = gym.make(env_id, obs_type=obs_type, **env_kwargs)
            env = FrameStack(env, stack) if explicit_stack and stack > 1 else env
    elif family == "atari":
        from rlgames.envs.atari import EpisodicLife, FireReset, NoopReset

        env_kwargs.setdefault("frameskip", 1)
        limit = env_kwargs.pop("max_episode_steps", None)
        env = gym.make(env_id, **env_kwargs)
        env = NoopReset(env, GAME_DEFAULTS["atari"]["noop_max"])
        if skip and skip > 1:
            env = MaxAndSkipObservation(env, skip=skip)
        if limit is not None and episodic_life:  # the whole game's steps, across lives
            env = TimeLimit(env, limit)
        if episodic_life:
            env = EpisodicLife(env)
        if "FIRE" in env.unwrapped.get_action_meanings():
            env = FireReset(env)
        if limit is not None and not episodic_life:  # exactly the agent's steps
            env = TimeLimit(env, limit)
        env = preprocess(env, skip=None, gray=gray, size=size, stack=stack)
    elif family == "mario":
        limit = env_kwargs.pop("max_episode_steps", None)
        env_kwargs.setdefault("noop_max", GAME_DEFAULTS["mario"]["noop_max"])
        env = gym.make(env_id, **env_kwargs)
        env = preprocess(env, skip=skip, gray=gray, size=size, stack=stack)
        if limit is not None:  # agent steps, not the emulator's frames under the skip
            env = TimeLimit(env, limit)
    else:
        pixels = gray or size is not None
        if pixels:
            env_kwargs.setdefault("render_mode", "rgb_array")
        env = gym.make(env_id, **env_kwargs)
        if pixels:
            env = AddRenderObservation(env, render_only=True)
        if pixels or (skip and skip > 1) or (stack and stack > 1):
            env = preprocess(env, skip=skip, gray=gray, size=size, stack=stack)
    if family in ("atari", "mario"):  # emulators index action tables with it: -1 is valid
        env = CheckAction(env)
    if clip_reward:
        env = ClipReward(env, -1.0, 1.0)
    return env
