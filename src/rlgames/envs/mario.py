"""Super Mario Bros (NES) as a Gymnasium env, the same whichever gym-super-mario-bros is installed.

Python >= 3.13 gets gym-super-mario-bros 9.x (Gymnasium-native). Older Pythons only have 7.4.0
on nes-py 8.2.1: the old gym API (4-tuple ``step``, ``reset()`` returning only the frame, no
seeding), and ROM-header and RAM reads that numpy 2 rejects, made safe by `nes_compat`.
`SuperMarioBrosEnv` drives either emulator directly, below their gym layers, so both give the
same spaces, actions, ``info`` and, by default, the same reward (the PyTorch Mario tutorial's,
which is 7.4.0's; 9.x changed it), on numpy 1 or 2. See docs/mario.md.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import numbers
from collections.abc import Callable, Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlgames._deps import require

#: NES controller bits, as the emulator reads the joypad byte.
BUTTONS = {
    "NOOP": 0x00,
    "A": 0x01,
    "B": 0x02,
    "select": 0x04,
    "start": 0x08,
    "up": 0x10,
    "down": 0x20,
    "left": 0x40,
    "right": 0x80,
}

#: Named action sets. "right_only" is the PyTorch tutorial's two actions (right, right + jump),
#: not gym-super-mario-bros' RIGHT_ONLY (5 actions); "simple" and "complex" are its
#: SIMPLE_MOVEMENT (7) and COMPLEX_MOVEMENT (12).
SIMPLE_MOVEMENT = (
    ("NOOP",),
    ("right",),
    ("right", "A"),
    ("right", "B"),
    ("right", "A", "B"),
    ("A",),
    ("left",),
)
ACTION_SETS: dict[str, tuple[tuple[str, ...], ...]] = {
    "right_only": (("right",), ("right", "A")),
    "simple": SIMPLE_MOVEMENT,
    "complex": SIMPLE_MOVEMENT
    + (("left", "A"), ("left", "B"), ("left", "A", "B"), ("down",), ("up",)),
}

#: Integer keys of ``info`` on every backend, besides ``flag_get`` (bool) and ``status`` ("small",
#: "tall", "fireball"). 9.x reports more; they are dropped so both backends agree.
INFO_KEYS = ("x_pos", "y_pos", "life", "score", "coins", "time", "world", "stage")
SCREEN_SHAPE = (240, 256, 3)
REWARDS = ("tutorial", "native")
REWARD_BOUND = 15.0  # both backends clip each frame's reward to [-15, 15]


def action_bytes(actions: str | Sequence[Sequence[str]]) -> list[int]:
    """Joypad bytes for an action set name, or for a list of button combinations."""
    if isinstance(actions, str):
        if actions not in ACTION_SETS:
            raise ValueError(f"actions must be one of {sorted(ACTION_SETS)}, got {actions!r}")
        actions = ACTION_SETS[actions]
    codes = []
    for combo in actions:
        unknown = [b for b in combo if b not in BUTTONS]
        if unknown:
            raise ValueError(f"unknown buttons {unknown}; buttons are {sorted(BUTTONS)}")
        code = 0
        for button in combo:
            code |= BUTTONS[button]
        codes.append(code)
    if not codes:
        raise ValueError("actions must hold at least one button combination")
    return codes


class TutorialReward:
    """gym-super-mario-bros 7.4.0's reward, from one frame's info: x progress (ignoring jumps
    over 5 px, i.e. respawns) + clock ticks (<= 0) - 25 on dying, clipped to [-15, 15].

    7.4.0 returns it natively; for 9.x it is recomputed from the same RAM values."""

    def __init__(self) -> None:
        self.x_last = 0
        self.time_last = 0

    def reset(self, info: dict[str, Any]) -> None:
        self.x_last, self.time_last = int(info["x_pos"]), int(info["time"])

    def __call__(self, info: dict[str, Any]) -> float:
        x, clock = int(info["x_pos"]), int(info["time"])
        dx = x - self.x_last
        dx = dx if -5 <= dx <= 5 else 0
        dt = min(clock - self.time_last, 0)
        self.x_last, self.time_last = x, clock
        death = -25 if info.get("is_dying") or info.get("is_dead") else 0
        return float(np.clip(dx + dt + death, -REWARD_BOUND, REWARD_BOUND))


class SuperMarioBrosEnv(gym.Env[np.ndarray, np.int64]):
    """Super Mario Bros, one NES frame per step; observations are raw 240x256x3 uint8 frames.

    `world`/`stage` (1-8 / 1-4) play one stage, ending on death or flag; both None play the
    whole game, ending at game over. `actions`: "right_only" (tutorial), "simple", "complex",
    or a list of button combinations. `reward`: "tutorial" (the same on every backend) or
    "native" (the installed backend's own: equal to "tutorial" on 7.4.0, reshaped on 9.x).
    `noop_max` > 0: each reset then presses no button for a number of frames drawn from
    0..noop_max by ``self.np_random`` (seeded by ``reset(seed=...)``), so that the
    deterministic emulator starts episodes in different states (as no-op starts do on Atari).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 60}

    def __init__(
        self,
        world: int | None = None,
        stage: int | None = None,
        actions: str | Sequence[Sequence[str]] = "right_only",
        reward: str = "tutorial",
        render_mode: str | None = None,
        noop_max: int = 0,
    ) -> None:
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f'render_mode must be None or "rgb_array", got {render_mode!r}')
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        if isinstance(noop_max, bool) or not isinstance(noop_max, numbers.Integral) or noop_max < 0:
            raise ValueError(f"noop_max must be an integer >= 0, got {noop_max!r}")
        if (world is None) != (stage is None):
            raise ValueError("give both world and stage (one stage), or neither (whole game)")
        if world is not None and not (1 <= world <= 8 and 1 <= stage <= 4):
            raise ValueError(f"world must be 1-8 and stage 1-4, got {world}-{stage}")
        self.world, self.stage, self.reward, self.render_mode = world, stage, reward, render_mode
        self.noop_max = int(noop_max)
        self._buttons = action_bytes(actions)
        self._meanings = [
            " ".join(c) for c in (ACTION_SETS[actions] if isinstance(actions, str) else actions)
        ]
        self.action_space = spaces.Discrete(len(self._buttons))
        self.observation_space = spaces.Box(0, 255, SCREEN_SHAPE, np.uint8)
        self._game: Any = None  # set first, so close() works if opening fails
        self._game, self.backend_version = _open_backend(None if world is None else (world, stage))
        self._copy_frame = frame_copier(self._game.screen)
        native_is_tutorial = not _is_gymnasium_native(self.backend_version)
        self._tutorial = None if reward == "native" or native_is_tutorial else TutorialReward()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Back to the stage's first playable frame, then `noop_max`'s random no-op frames if
        any (the emulator is deterministic: `seed` only seeds ``self.np_random``, which draws
        them)."""
        super().reset(seed=seed)
        self._game.reset()
        if self.noop_max:
            for _ in range(int(self.np_random.integers(0, self.noop_max + 1))):
                self._game.step(BUTTONS["NOOP"])
        raw = self._game._get_info()  # both backends; 7.4.0's reset() returns no info
        if self._tutorial is not None:
            self._tutorial.reset(raw)
        return self._copy_frame(), _public_info(raw)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        """Press the action's buttons for one frame."""
        result = self._game.step(self._buttons[int(action)])
        if len(result) == 4:  # 7.4.0: (frame, reward, done, info)
            _, reward, terminated, raw = result
            truncated = False
        else:  # 9.x: (frame, reward, terminated, truncated, info)
            _, reward, terminated, truncated, raw = result
        if self._tutorial is not None:
            reward = self._tutorial(raw)
        return (
            self._copy_frame(),
            float(reward),
            bool(terminated),
            bool(truncated),
            _public_info(raw),
        )

    def render(self) -> np.ndarray | None:
        """The current frame (240x256x3 uint8) in "rgb_array" mode, else None."""
        return self._copy_frame() if self.render_mode == "rgb_array" else None

    def get_action_meanings(self) -> list[str]:
        """Buttons pressed by each action, e.g. ``["right", "right A"]``."""
        return list(self._meanings)

    def close(self) -> None:
        """Free the emulator; safe to call more than once."""
        game, self._game = self._game, None
        if game is not None:
            game.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def frame_copier(screen: np.ndarray) -> Callable[[], np.ndarray]:
    """A function returning a contiguous RGB copy of `screen`, the emulator's live frame.

    nes-py (8.x and 9.x) exposes the screen as an RGB view with a -1 channel stride over
    little-endian 32-bit BGRx pixels; numpy copies that byte by byte (0.6 ms a frame, half the
    emulator's own time), while OpenCV converts the same bytes read as BGRx in ~0.01 ms.
    """
    height, width, _ = screen.shape
    if screen.strides != (width * 4, 4, -1):  # another layout (big-endian): copy it plainly
        return lambda: np.array(screen, dtype=np.uint8, order="C")
    import cv2

    bgrx = np.lib.stride_tricks.as_strided(
        screen[:, :, ::-1], shape=(height, width, 4), strides=(width * 4, 4, 1), writeable=False
    )
    return lambda: cv2.cvtColor(bgrx, cv2.COLOR_BGRA2RGB)


def _is_gymnasium_native(backend_version: str) -> bool:
    """gym-super-mario-bros 9.x and later: Gymnasium's 5-tuple ``step``, a reshaped reward."""
    return int(backend_version.split(".")[0]) >= 9


def _open_backend(target: tuple[int, int] | None) -> tuple[Any, str]:
    """The installed gym-super-mario-bros env and its version; 7.4.0's with numpy-2 safe reads."""
    require("mario", "gym_super_mario_bros", "nes_py")
    version = importlib.metadata.version("gym-super-mario-bros")
    # gym 0.26 (under 7.4.0) prints an "unmaintained" notice on import: we never use its API.
    with contextlib.redirect_stderr(io.StringIO()):
        if _is_gymnasium_native(version):
            from gym_super_mario_bros import SuperMarioBrosEnv as BackendEnv
        else:
            from rlgames.envs.nes_compat import NumpySafeSuperMarioBrosEnv as BackendEnv
    return BackendEnv(target=target), version


def _public_info(raw: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {key: int(raw[key]) for key in INFO_KEYS}
    info["flag_get"] = bool(raw["flag_get"])
    info["status"] = str(raw["status"])
    return info
