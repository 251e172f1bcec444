"""Replay memory for Atari-style (4, 84, 84) uint8 stacks: bytes per transition and speed.

Prints the bytes per transition of rlgames' ReplayBuffer (each frame stored once) next to
Stable-Baselines3's ReplayBuffer (obs and next_obs stacks stored whole) when it is installed,
then add() and sample() throughput on a full buffer. Figures only; nothing is asserted.

    .venv/bin/python bench/bench_replay.py [--capacity 100000] [--batch-size 32] [--n-step 1]
"""

from __future__ import annotations

import argparse
import importlib.util
import time

import numpy as np
from gymnasium import spaces

from rlgames.agents import ReplayBuffer

OBS = spaces.Box(0, 255, (4, 84, 84), np.uint8)
ACTIONS = spaces.Discrete(4)


def sb3_bytes_per_transition(optimize_memory_usage: bool) -> float:
    """Bytes per transition of SB3's ReplayBuffer, measured on a small instance."""
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    size = 1000
    buffer = SB3Buffer(
        size,
        OBS,
        ACTIONS,
        optimize_memory_usage=optimize_memory_usage,
        handle_timeout_termination=not optimize_memory_usage,  # SB3 allows only one of them
    )
    arrays = [buffer.observations, buffer.actions, buffer.rewards, buffer.dones, buffer.timeouts]
    if not optimize_memory_usage:
        arrays.append(buffer.next_observations)
    return sum(a.nbytes for a in arrays) / size


def fill(buffer: ReplayBuffer, steps: int, episode_length: int, rng: np.random.Generator):
    """Add `steps` transitions of episodes that terminate every `episode_length` steps."""
    pool = rng.integers(0, 256, (1024, 84, 84), dtype=np.uint8)
    frames = [pool[0]] * 4
    obs = np.stack(frames)[None]
    start = time.perf_counter()
    for t in range(steps):
        frames = frames[1:] + [pool[(t + 1) % len(pool)]]
        next_obs = np.stack(frames)[None]
        end = (t + 1) % episode_length == 0
        buffer.add(obs, [t % 4], [1.0], next_obs, [end], [False])
        if end:
            frames = [pool[(t + 7) % len(pool)]] * 4
            next_obs = np.stack(frames)[None]
        obs = next_obs
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-step", type=int, default=1)
    parser.add_argument("--episode-length", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)

    buffer = ReplayBuffer(args.capacity, OBS, ACTIONS, n_step=args.n_step)
    print(f"rlgames ReplayBuffer, capacity {args.capacity:,}, (4, 84, 84) uint8 observations")
    print(f"  storage: {buffer.nbytes / 2**20:,.1f} MiB allocated")
    print(f"  bytes per transition: {buffer.bytes_per_transition:,.0f}")
    print(
        "  + one 7,056-byte frame per truncated episode (terminated episodes: none), "
        f"e.g. {buffer.bytes_per_transition + 7056 / 1000:,.0f} for 1,000-step truncated episodes"
    )
    if importlib.util.find_spec("stable_baselines3"):
        full, optimized = sb3_bytes_per_transition(False), sb3_bytes_per_transition(True)
        print(f"Stable-Baselines3 ReplayBuffer: {full:,.0f} bytes per transition")
        print(f"  with optimize_memory_usage=True (no truncation handling): {optimized:,.0f}")
        print(f"  ratio SB3 / rlgames: {full / buffer.bytes_per_transition:.1f}x")

    seconds = fill(buffer, args.capacity, args.episode_length, rng)
    print(f"add(): {args.capacity / seconds:,.0f} transitions/s ({len(buffer):,} stored)")
    for _ in range(20):  # warm up
        buffer.sample(args.batch_size, rng)
    start = time.perf_counter()
    for _ in range(args.batches):
        batch = buffer.sample(args.batch_size, rng)
    seconds = time.perf_counter() - start
    print(
        f"sample({args.batch_size}), n_step={args.n_step}: {args.batches / seconds:,.0f} "
        f"batches/s = {args.batches * args.batch_size / seconds:,.0f} transitions/s "
        f"({seconds / args.batches * 1e6:,.0f} us per batch, obs {batch.obs.shape})"
    )


if __name__ == "__main__":
    main()
