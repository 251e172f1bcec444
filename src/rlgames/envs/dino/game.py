"""The chrome://dino page as Python sees it: one JavaScript call per reset or step.

Loads the in-page code (``clock.js`` before the page's scripts, ``frame.js`` and ``game.js``
after) into a `Browser`, and turns each reply into numpy arrays.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from importlib import resources

import numpy as np

from rlgames.envs.dino.browser import Browser
from rlgames.envs.dino.cdp import BrowserDied, JavaScriptError

DINO_URL = "chrome://dino"


def _script(name: str) -> str:
    return resources.files("rlgames.envs.dino").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class ObsSpec:
    """What each step sends back: "rgb" (full canvas), "grayscale" at (h, w), or "state"."""

    kind: str
    h: int = 0
    w: int = 0

    def js(self) -> str:
        """As a JavaScript object literal."""
        return f'{{kind: "{self.kind}", h: {self.h}, w: {self.w}}}'


@dataclass
class StepResult:
    """One reply from the page."""

    crashed: bool
    score: int
    speed: float
    frame: int
    obs: np.ndarray


def decode_frame(text: str) -> np.ndarray:
    """Bytes from the page's frame encoding: base64 of (value, count) byte pairs."""
    pairs = np.frombuffer(base64.b64decode(text), dtype=np.uint8)
    return np.repeat(pairs[0::2], pairs[1::2])


class DinoPage:
    """chrome://dino in a `Browser`, with the virtual clock and seeded Math.random installed."""

    def __init__(
        self, browser: Browser, *, acceleration: bool, max_speed: float | None, birds: bool
    ) -> None:
        self.browser = browser
        self.rules = {
            "acceleration": acceleration,
            "maxSpeed": max_speed,
            "birds": birds,
            "hidden": browser.headless,
        }
        self.canvas_shape: tuple[int, int] = (150, 600)
        self._obs = ObsSpec("rgb")

    def open(self, obs: ObsSpec) -> None:
        """(Re)start the browser on the game and prepare it; `BrowserDied` if it fails."""
        self.browser.start(DINO_URL, init_script=_script("clock.js"))
        self.browser.evaluate(_script("damage.js"))
        self.browser.evaluate(_script("frame.js"))
        self.browser.evaluate(_script("game.js"))
        deadline = time.monotonic() + self.browser.timeout
        while not self.browser.evaluate("__rlDino.ready()"):  # the sprites load asynchronously
            if time.monotonic() > deadline:
                raise BrowserDied(f"{DINO_URL} did not load within {self.browser.timeout} s")
            time.sleep(0.02)
        h, w = self.browser.evaluate(f"__rlDino.start({json.dumps(self.rules)})")
        self.canvas_shape = (int(h), int(w))
        self._obs = obs

    def observe(self, obs: ObsSpec) -> None:
        """What the following resets and steps send back."""
        self._obs = obs

    def reset(self, seed: int) -> StepResult:
        """A new game whose obstacles follow `seed` (an unsigned 32-bit integer)."""
        reply = self.browser.evaluate(f"__rlGame.reset({int(seed)}, {self._obs.js()})")
        return self._decode(reply)

    def step(self, action: int, frames: int) -> StepResult:
        """Hold `action` for `frames` frames of 1000/60 ms of game time."""
        reply = self.browser.evaluate(
            f"__rlGame.step({int(action)}, {int(frames)}, {self._obs.js()})"
        )
        return self._decode(reply)

    def rgb(self) -> np.ndarray:
        """The full canvas composited on white, H x W x 3 uint8."""
        data = decode_frame(self.browser.evaluate("__rlGame.rgb()"))
        return data.reshape(*self.canvas_shape, 3)

    def _decode(self, reply: dict) -> StepResult:
        if reply is None:
            raise JavaScriptError("the page returned nothing")
        spec = self._obs
        if spec.kind == "state":
            obs = np.asarray(reply["state"], dtype=np.float32)
        else:
            data = decode_frame(reply["pixels"])
            if spec.kind == "rgb":
                obs = data.reshape(*self.canvas_shape, 3)
            else:
                obs = data.reshape(spec.h, spec.w)
        return StepResult(
            crashed=bool(reply["crashed"]),
            score=int(reply["score"]),
            speed=float(reply["speed"]),
            frame=int(reply["frame"]),
            obs=obs,
        )
