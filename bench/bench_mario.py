"""Super Mario Bros 1-1: emulator frames/s, raw and after the shared preprocessing, and its cost.

Part 1 runs the same scripted play (hold right, right + A for 20 of every 40 frames, reset on
death) through the backend alone, through `SuperMarioBrosEnv` and through
``rlgames.make_env("SuperMarioBros-1-1-v0")`` (skip 4, gray, 84x84, stack 4: the PyTorch
tutorial's pipeline), interleaved over --rounds rounds; it prints the median and the range.

Part 2 isolates the preprocessing: the same wrappers run over frames recorded from the emulator
and replayed at no cost, so the time per agent step is the wrappers' alone. Its cost is
wrappers / (4 emulator frames + wrappers), the share of throughput the pipeline takes.

Rates are per second of this process's CPU time (`time.process_time`), so other load on the
shared machine moves them less than wall-clock time (it still adds noise: see the ranges).

    .venv/bin/python bench/bench_mario.py --frames 2000 --rounds 8
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import rlgames
from rlgames.envs.mario import SuperMarioBrosEnv
from rlgames.wrappers import FrameStack, GrayScale, Resize, SkipFrame

SKIP = 4
Stepper = Callable[[int], bool]


def scripted_action(frame: int) -> int:
    return 1 if frame % 40 < 20 else 0  # right_only: 1 = right + A, 0 = right


def backend_only() -> tuple[Any, Stepper]:
    """The installed gym-super-mario-bros env with no Gymnasium layer (reference only)."""
    env = SuperMarioBrosEnv(world=1, stage=1)
    game, buttons = env._game, env._buttons
    return env, lambda action: bool(game.step(buttons[action])[2])


def gym_env(build: Callable[[], gym.Env]) -> Callable[[], tuple[Any, Stepper]]:
    def make() -> tuple[Any, Stepper]:
        env = build()
        return env, lambda action: any(env.step(action)[2:4])

    return make


END_TO_END: dict[str, tuple[Callable[[], tuple[Any, Stepper]], int]] = {
    # name: (builder, NES frames per step)
    "backend env alone (no Gymnasium layer)": (backend_only, 1),
    "SuperMarioBrosEnv (raw 240x256x3 frames)": (gym_env(lambda: SuperMarioBrosEnv(1, 1)), 1),
    'make_env("SuperMarioBros-1-1-v0")': (
        gym_env(lambda: rlgames.make_env("SuperMarioBros-1-1-v0")),
        SKIP,
    ),
}


def frames_per_cpu_second(make: Callable[[], tuple[Any, Stepper]], per_step: int, n: int) -> float:
    env, step = make()
    env.reset(seed=0)
    steps = n // per_step
    start = time.process_time()
    for i in range(steps):
        if step(scripted_action(i * per_step)):
            env.reset()
    elapsed = time.process_time() - start
    env.close()
    return steps * per_step / elapsed


class RecordedFrames(gym.Env):
    """Replays frames recorded from the emulator at almost no cost, to time wrappers alone."""

    metadata = {"render_modes": []}

    def __init__(self, frames: np.ndarray):
        self.frames, self.i = frames, 0
        self.observation_space = gym.spaces.Box(0, 255, frames.shape[1:], np.uint8)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self.frames[0], {}

    def step(self, action: int):
        self.i = (self.i + 1) % len(self.frames)
        return self.frames[self.i], 0.0, False, False, {}


def record_frames(n: int) -> np.ndarray:
    env = SuperMarioBrosEnv(1, 1)
    frames = [env.reset(seed=0)[0]]
    for i in range(n - 1):
        obs, _, terminated, _, _ = env.step(scripted_action(i))
        frames.append(obs)
        if terminated:
            env.reset()
    env.close()
    return np.stack(frames)


STAGES: dict[str, Callable[[gym.Env], gym.Env]] = {
    "SkipFrame(4)": lambda e: SkipFrame(e, SKIP),
    "+ GrayScale": lambda e: GrayScale(SkipFrame(e, SKIP)),
    "+ Resize(84)": lambda e: Resize(GrayScale(SkipFrame(e, SKIP)), 84),
    "+ FrameStack(4) = make_env's pipeline": lambda e: FrameStack(
        Resize(GrayScale(SkipFrame(e, SKIP)), 84), 4
    ),
}


def ms_per_step(env: gym.Env, steps: int) -> float:
    env.reset(seed=0)
    start = time.process_time()
    for _ in range(steps):
        env.step(0)
    return (time.process_time() - start) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=2000, help="NES frames per measurement")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds (median)")
    args = parser.parse_args()
    version = importlib.metadata.version("gym-super-mario-bros")
    print(
        f"gym-super-mario-bros {version}, numpy {np.__version__}, {args.frames} frames x "
        f"{args.rounds} rounds, load average {os.getloadavg()[0]:.2f}"
    )
    rates: dict[str, list[float]] = {name: [] for name in END_TO_END}
    for r in range(args.rounds):
        names = list(END_TO_END) if r % 2 == 0 else list(END_TO_END)[::-1]
        for name in names:
            make, per_step = END_TO_END[name]
            rates[name].append(frames_per_cpu_second(make, per_step, args.frames))
    print(f"\n{'end to end, per CPU second':42} {'frames/s':>9} {'range':>11} {'steps/s':>8}")
    for name, (_, per_step) in END_TO_END.items():
        fps = statistics.median(rates[name])
        spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
        print(f"{name:42} {fps:9.0f} {spread:>11} {fps / per_step:8.0f}")
    frame_ms = 1e3 / statistics.median(rates["SuperMarioBrosEnv (raw 240x256x3 frames)"])

    frames = record_frames(400)
    print(f"\n{'wrappers alone, on recorded frames':42} {'ms/step':>9} {'cost':>6}")
    for name, wrap in STAGES.items():
        times = [ms_per_step(wrap(RecordedFrames(frames)), 500) for _ in range(args.rounds)]
        wrappers_ms = statistics.median(times)
        cost = wrappers_ms / (SKIP * frame_ms + wrappers_ms)
        print(f"{name:42} {wrappers_ms:9.3f} {cost:6.1%}")
    print(f"(one emulator frame through SuperMarioBrosEnv: {frame_ms:.3f} ms of CPU)")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
