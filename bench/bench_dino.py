"""ChromeDino-v0 speed: env steps per second on each observation path, and with many browsers.

Prints one line per case: the fast path (frame_skip 4, 84x84 grayscale done in the page), the
rgb canvas put through gymnasium's GrayscaleObservation + ResizeObservation + a 4-frame stack,
the state vector, and AsyncVectorEnv with 1 and 2 browsers. Random actions (mostly "run");
episodes reset when they end. Each figure is the best of --repeats runs of --steps steps.

    python bench/bench_dino.py                 # all cases
    python bench/bench_dino.py --cases fast rgb --steps 3000
    python bench/bench_dino.py --cases cycles --cycles 50   # make/close, then count leftovers
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import FrameStackObservation, GrayscaleObservation, ResizeObservation

from rlgames.envs.dino import ChromeDinoEnv

ACTION_P = [0.85, 0.1, 0.05]  # run, jump, duck


def steps_per_second(env: gym.Env, steps: int, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(int(rng.choice(3, p=ACTION_P)))
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def cpu_ms_per_step(env: gym.Env, steps: int) -> float:
    """CPU time of Python plus every browser process, per step: unlike steps/s, it does not
    depend on what else the machine runs. The step is one round trip, so on idle cores
    1000 / this is about the steps/s to expect."""
    group = env.unwrapped.browser.process_group
    before = _cpu_seconds(group)
    steps_per_second(env, steps)
    return (_cpu_seconds(group) - before) / steps * 1000


def _cpu_seconds(group: int) -> float:
    mine = os.times()
    total = mine.user + mine.system
    for pid in os.listdir("/proc"):
        if pid.isdigit() and _group_of(pid) == group:
            with contextlib.suppress(OSError):
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def vector_steps_per_second(n: int, steps: int) -> float:
    envs = gym.vector.AsyncVectorEnv(
        [lambda: ChromeDinoEnv(obs_type="grayscale", screen_size=84)] * n,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    try:
        rng = np.random.default_rng(0)
        envs.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps):
            envs.step(rng.choice(3, size=n, p=ACTION_P))
        return n * steps / (time.perf_counter() - start)
    finally:
        envs.close()


def best(fn, repeats: int) -> float:
    return max(fn() for _ in range(repeats))


def make_close_cycles(cycles: int) -> None:
    start = time.perf_counter()
    groups = []
    for _ in range(cycles):
        env = ChromeDinoEnv(obs_type="grayscale")
        groups.append(env.browser.process_group)
        env.reset(seed=0)
        env.close()
    seconds = (time.perf_counter() - start) / cycles
    time.sleep(2)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _group_of(pid) in groups]
    print(f"make/close cycles   {cycles:>5}   {seconds:6.2f} s each, processes left: {len(left)}")


def _group_of(pid: str) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    state, _, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
    return None if state == "Z" else int(pgrp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="env steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; best is shown")
    parser.add_argument("--cycles", type=int, default=10, help="make/close cycles")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["fast", "rgb", "state", "vector", "cycles"],
        choices=["fast", "rgb", "state", "vector", "cycles"],
    )
    args = parser.parse_args()
    print(f"ChromeDino-v0, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("case                               steps/s")
    if "fast" in args.cases:
        env = ChromeDinoEnv(obs_type="grayscale", screen_size=84, frame_skip=4)
        figure = best(lambda: steps_per_second(env, args.steps), args.repeats)
        cpu = min(cpu_ms_per_step(env, args.steps) for _ in range(args.repeats))
        env.close()
        print(f"fast: in-page gray 84x84, skip 4   {figure:7.0f}")
        print(f"  CPU per step, all processes      {cpu:7.2f} ms  (~{1000 / cpu:.0f} steps/s idle)")
    if "rgb" in args.cases:
        env = FrameStackObservation(
            ResizeObservation(GrayscaleObservation(ChromeDinoEnv(obs_type="rgb")), (84, 84)), 4
        )
        figure = best(lambda: steps_per_second(env, args.steps), args.repeats)
        env.close()
        print(f"rgb + Gray/Resize/Stack wrappers   {figure:7.0f}")
    if "state" in args.cases:
        env = ChromeDinoEnv(obs_type="state")
        figure = best(lambda: steps_per_second(env, args.steps), args.repeats)
        env.close()
        print(f"state vector, skip 4               {figure:7.0f}")
    if "vector" in args.cases:
        for n in (1, 2):
            figure = best(lambda n=n: vector_steps_per_second(n, args.steps), args.repeats)
            print(f"AsyncVectorEnv, {n} browser(s)     {figure:7.0f}  (sum over browsers)")
    if "cycles" in args.cases:
        make_close_cycles(args.cycles)


if __name__ == "__main__":
    main()
