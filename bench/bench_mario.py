"""Super Mario Bros 1-1: emulator frames/s raw, and after each stage of the shared preprocessing.

Every configuration runs the same scripted play (hold right, right + A for 20 of every 40
frames, reset on death) for --frames NES frames; configurations are interleaved over --repeats
rounds and the median is printed. Rates are per second of this process's CPU time
(`time.process_time`), which other load on a shared machine barely moves; wall-clock rates
on an idle machine match them. "cost" is the share of
the raw env's frame rate lost at that stage; the last row is ``rlgames.make_env`` itself
(skip 4, gray, 84x84, stack 4: the PyTorch tutorial's pipeline).

    .venv-mario/bin/python bench/bench_mario.py --frames 4000 --repeats 5
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import rlgames
from rlgames.envs.mario import SuperMarioBrosEnv
from rlgames.wrappers import FrameStack, GrayScale, Resize, SkipFrame

SKIP = 4


def backend_only() -> tuple[object, Callable[[int], bool]]:
    """The installed gym-super-mario-bros env with no Gymnasium layer (reference only)."""
    env = SuperMarioBrosEnv(world=1, stage=1)
    game = env._game
    buttons = env._buttons

    def step(action: int) -> bool:
        result = game.step(buttons[action])
        return bool(result[2])

    return env, step


def gym_env(build: Callable[[], gym.Env]) -> Callable[[], tuple[object, Callable[[int], bool]]]:
    def make() -> tuple[object, Callable[[int], bool]]:
        env = build()

        def step(action: int) -> bool:
            _, _, terminated, truncated, _ = env.step(action)
            return terminated or truncated

        return env, step

    return make


CONFIGS: dict[str, tuple[Callable[[], tuple[object, Callable[[int], bool]]], int]] = {
    # name: (builder, NES frames per step)
    "backend env (no Gymnasium layer)": (backend_only, 1),
    "SuperMarioBrosEnv (raw 240x256x3)": (gym_env(lambda: SuperMarioBrosEnv(1, 1)), 1),
    "+ SkipFrame(4)": (gym_env(lambda: SkipFrame(SuperMarioBrosEnv(1, 1), SKIP)), SKIP),
    "+ GrayScale": (gym_env(lambda: GrayScale(SkipFrame(SuperMarioBrosEnv(1, 1), SKIP))), SKIP),
    "+ Resize(84)": (
        gym_env(lambda: Resize(GrayScale(SkipFrame(SuperMarioBrosEnv(1, 1), SKIP)), 84)),
        SKIP,
    ),
    "+ FrameStack(4)": (
        gym_env(
            lambda: FrameStack(Resize(GrayScale(SkipFrame(SuperMarioBrosEnv(1, 1), SKIP)), 84), 4)
        ),
        SKIP,
    ),
    'rlgames.make_env("SuperMarioBros-1-1-v0")': (
        gym_env(lambda: rlgames.make_env("SuperMarioBros-1-1-v0")),
        SKIP,
    ),
}


def frames_per_second(make: Callable, frames_per_step: int, frames: int) -> float:
    env, step = make()
    env.reset(seed=0)
    steps = frames // frames_per_step
    start = time.process_time()
    for i in range(steps):
        frame = i * frames_per_step
        if step(1 if frame % 40 < 20 else 0):  # right_only: 0 = right, 1 = right + A
            env.reset()
    elapsed = time.process_time() - start
    env.close()
    return steps * frames_per_step / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=4000, help="NES frames per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (median)")
    args = parser.parse_args()
    version = importlib.metadata.version("gym-super-mario-bros")
    print(
        f"gym-super-mario-bros {version}, numpy {np.__version__}, "
        f"{args.frames} frames x {args.repeats} rounds, load average {os.getloadavg()[0]:.2f}"
    )
    rates: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(args.repeats):
        for name, (make, per_step) in CONFIGS.items():
            rates[name].append(frames_per_second(make, per_step, args.frames))
    raw = statistics.median(rates["SuperMarioBrosEnv (raw 240x256x3)"])
    print(
        f"{'configuration (per CPU second)':44} {'frames/s':>9} {'agent steps/s':>14} {'cost':>6}"
    )
    for name, (_, per_step) in CONFIGS.items():
        fps = statistics.median(rates[name])
        print(f"{name:44} {fps:9.0f} {fps / per_step:14.0f} {1 - fps / raw:6.1%}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
