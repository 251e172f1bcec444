"""ChromeDino-v0: the real chrome://dino in headless Chromium, stepped by a virtual clock.

The game advances exactly `frame_skip` frames of 1000/60 ms per `step()` and waits in between,
so runs are as fast as the page can draw and replay exactly from `reset(seed=...)`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlgames._deps import require

require("dino", "selenium", "websocket")

from rlgames.envs.dino.browser import Browser  # noqa: E402 - after the dependency check
from rlgames.envs.dino.cdp import BrowserDied  # noqa: E402
from rlgames.envs.dino.game import DinoPage, ObsSpec, StepResult  # noqa: E402

OBS_TYPES = ("rgb", "grayscale", "state")
ACTIONS = ("run", "jump", "duck")
STATE_SIZE = 15
STATE_BOUND = 2.0
# reward name -> (per step alive, on the crashing step, per step in which action 1 is held)
REWARDS = {
    "survival": (0.1, -1.0, None),
    "jump_penalty": (0.1, -10.0, -0.01),
    "score": (None, -1.0, None),  # None: the displayed score gained during the step
}


def _has_display() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class ChromeDinoEnv(gym.Env):
    """The Chrome Dino game. Actions: 0 run, 1 jump, 2 duck (held while repeated).

    Observations by `obs_type`: "rgb" (the canvas composited on white, H x W x 3 uint8),
    "grayscale" (`screen_size` (h, w) uint8, computed in the page: equal to gymnasium's
    GrayscaleObservation then ResizeObservation within 1 level) or "state" (15 float32).
    `terminated` on crash; `info` has score, high_score, speed, frame, browser_restarted.
    """

    # "human" (a visible browser window) is offered only where there is a display to show it.
    metadata = {
        "render_modes": ["rgb_array", "human"] if _has_display() else ["rgb_array"],
        "render_fps": 15,
    }

    def __init__(
        self,
        render_mode: str | None = None,
        obs_type: str = "rgb",
        screen_size: int | tuple[int, int] | None = 84,
        frame_skip: int = 4,
        acceleration: bool = True,
        max_speed: float | None = None,
        birds: bool = True,
        reward: str = "survival",
        headless: bool = True,
        chrome_path: str | None = None,
        driver_path: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        if render_mode == "human":
            headless = False
        if not headless and not _has_display():
            raise RuntimeError(
                "A visible browser window (render_mode='human' or headless=False) needs a display, "
                "and DISPLAY is not set. Use render_mode='rgb_array', or run under `xvfb-run`."
            )
        _check_choice("render_mode", render_mode, (None, "rgb_array", "human"))
        _check_choice("obs_type", obs_type, OBS_TYPES)
        _check_choice("reward", reward, tuple(REWARDS))
        if int(frame_skip) != frame_skip or frame_skip < 1:
            raise ValueError(f"frame_skip must be a whole number of frames >= 1, not {frame_skip}")
        self.render_mode = render_mode
        self.obs_type = obs_type
        self.frame_skip = int(frame_skip)
        self.reward_mode = reward
        self.metadata = {**self.metadata, "render_fps": 60 / self.frame_skip}
        self.high_score = 0
        self._score = 0
        self._crashed = True  # no game until reset()
        self._last_step_time = 0.0

        self._browser = Browser(chrome_path, driver_path, headless=headless, timeout=timeout)
        self._page = DinoPage(
            self._browser, acceleration=acceleration, max_speed=max_speed, birds=birds
        )
        try:
            self._page.open(ObsSpec("rgb"))
            self._spec = self._obs_spec(screen_size)  # needs the canvas size
            self._page.observe(self._spec)
        except BaseException:
            self._browser.close()
            raise
        self.action_space = spaces.Discrete(len(ACTIONS))
        self.observation_space = self._make_space()

    def _obs_spec(self, screen_size: int | tuple[int, int] | None) -> ObsSpec:
        if self.obs_type != "grayscale":
            return ObsSpec(self.obs_type)
        canvas_h, canvas_w = self._page.canvas_shape
        if screen_size is None:
            return ObsSpec("grayscale", canvas_h, canvas_w)
        h, w = (screen_size, screen_size) if np.isscalar(screen_size) else tuple(screen_size)
        if not (0 < h <= canvas_h and 0 < w <= canvas_w):
            raise ValueError(
                f"screen_size {screen_size} must fit in the {canvas_h}x{canvas_w} canvas "
                "(the in-page resize only shrinks); use GrayScale + Resize wrappers to enlarge."
            )
        return ObsSpec("grayscale", int(h), int(w))

    def _make_space(self) -> spaces.Box:
        if self.obs_type == "state":
            return spaces.Box(-STATE_BOUND, STATE_BOUND, (STATE_SIZE,), np.float32)
        if self.obs_type == "rgb":
            return spaces.Box(0, 255, (*self._page.canvas_shape, 3), np.uint8)
        return spaces.Box(0, 255, (self._spec.h, self._spec.w), np.uint8)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        try:
            result = self._page.reset(self._game_seed())
            restarted = False
        except BrowserDied:
            result = self._restart_browser()
            restarted = True
        self._score = result.score
        self._crashed = result.crashed
        return self._obs(result), self._info(result, restarted)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not (type(action) is int and 0 <= action < 3) and not self.action_space.contains(action):
            raise ValueError(
                f"Invalid action {action!r}: ChromeDinoEnv takes an integer 0 (run), 1 (jump) "
                "or 2 (duck)."
            )
        action = int(action)
        was_crashed = self._crashed
        try:
            result = self._page.step(action, self.frame_skip)
        except BrowserDied:
            # The browser went away: start a new one, end this episode as truncated.
            result = self._restart_browser()
            self._score, self._crashed = result.score, result.crashed
            return self._obs(result), 0.0, False, True, self._info(result, True)
        reward = self._reward(action, result, was_crashed)
        self._score = result.score
        self._crashed = result.crashed
        if self.render_mode == "human":
            self._pace()
        return self._obs(result), reward, result.crashed, False, self._info(result, False)

    def render(self) -> np.ndarray | None:
        """ "rgb_array": the full canvas composited on white; "human": the browser window."""
        if self.render_mode == "rgb_array":
            return self._page.rgb()
        return None

    def close(self) -> None:
        """End the browser and its driver."""
        self._browser.close()

    @property
    def browser(self) -> Browser:
        """The running browser (its `pid`, `process_group`), e.g. for tests."""
        return self._browser

    def _game_seed(self) -> int:
        # Each reset draws the game's seed from the env's generator: reset(seed=s) repeats.
        return int(self.np_random.integers(0, 2**32))

    def _restart_browser(self) -> StepResult:
        try:
            self._page.open(self._spec)
        except BrowserDied:  # once more: a loaded machine can fail one start
            self._page.open(self._spec)
        return self._page.reset(self._game_seed())

    def _reward(self, action: int, result: StepResult, was_crashed: bool) -> float:
        alive, crash, jump = REWARDS[self.reward_mode]
        if was_crashed:
            return 0.0
        if result.crashed:
            return crash
        if jump is not None and action == 1:
            return jump
        return float(result.score - self._score) if alive is None else alive

    def _obs(self, result: StepResult) -> np.ndarray:
        if self.obs_type == "state":
            return np.clip(result.obs, -STATE_BOUND, STATE_BOUND)
        return result.obs

    def _info(self, result: StepResult, restarted: bool) -> dict[str, Any]:
        self.high_score = max(self.high_score, result.score)
        return {
            "score": result.score,
            "high_score": self.high_score,
            "speed": result.speed,
            "frame": result.frame,
            "browser_restarted": restarted,
        }

    def _pace(self) -> None:
        # Shown to a person: hold each step for its game time.
        wait = self.frame_skip / 60 - (time.monotonic() - self._last_step_time)
        if wait > 0:
            time.sleep(wait)
        self._last_step_time = time.monotonic()


def _check_choice(name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}")
