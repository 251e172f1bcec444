"""Replay memory for Atari-style (4, 84, 84) uint8 stacks: bytes per transition and speed,
first on random noise (frames stored once, raw), then on real frames, compressed and
prioritized.

Prints, in order:

1. rlgames' ReplayBuffer storing each frame once, raw, next to Stable-Baselines3's
   ReplayBuffer (obs and next_obs stacks stored whole) when it is installed, then add() and
   sample() throughput on a full buffer of random frames;
2. the frame codecs (LZ4 block, and Zstandard level 1 when installed) on frames recorded from
   random play: mean size and decompression time per frame;
3. the resident memory (RSS growth) of a 1,000,000-transition compressed, prioritized
   Breakout replay filled from the recorded frames, cycled (in a fresh process);
4. bytes per transition on the recorded frames (Breakout, and Dino when Chromium runs here):
   frames stored once raw, compressed, and compressed + prioritized, beside SB3's figure;
5. one learning round's replay work for Breakout at batch 32: today's uniform raw sample, a
   compressed one, and prioritized ones with their update_priorities, beside one DQN gradient
   step (Nature CNN, 2 torch threads) timed in the same process.

The last line is ``bytes/transition: breakout=N dino=M`` (compressed + prioritized). Like
training, the bench keeps freed memory for reuse (`rlgames.training.malloc`), so batches do
not pay for fresh pages. Figures only; nothing is asserted.

    .venv/bin/python bench/bench_replay.py [--capacity 100000] [--batch-size 32] [--n-step 1]
        [--real-steps 3000] [--big-capacity 1000000] [--no-dino] [--threads 2]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import itertools
import os
import subprocess
import sys
import time

import numpy as np
from gymnasium import spaces

import rlgames
from rlgames.agents import ReplayBuffer, codec
from rlgames.training.malloc import keep_freed_memory

OBS = spaces.Box(0, 255, (4, 84, 84), np.uint8)
ACTIONS = spaces.Discrete(4)
GAMES = ("breakout", "dino")


def sb3_bytes_per_transition(optimize_memory_usage: bool, space: spaces.Box = OBS) -> float:
    """Bytes per transition of SB3's ReplayBuffer, measured on a small instance."""
    from stable_baselines3.common.buffers import ReplayBuffer as SB3Buffer

    size = 1000
    buffer = SB3Buffer(
        size,
        space,
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


class Episode:
    """One recorded episode: its first observation, then each step's new frame and outcome."""

    def __init__(self, first: np.ndarray) -> None:
        self.first, self.frames, self.actions, self.rewards = first, [], [], []
        self.terminated = False  # else truncated (or cut off by the end of the recording)


def record(env_id: str, steps: int, **env_kwargs) -> list[Episode]:
    """Random play: `steps` env steps of `env_id` through rlgames.make_env, as episodes."""
    env = rlgames.make_env(env_id, seed=0, **env_kwargs)
    env.action_space.seed(0)
    episodes = [Episode(env.reset(seed=0)[0])]
    for _ in range(steps):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, _ = env.step(action)
        episode = episodes[-1]
        episode.frames.append(obs[-1])
        episode.actions.append(int(action))
        episode.rewards.append(float(reward))
        if terminated or truncated:
            episode.terminated = bool(terminated)
            episodes.append(Episode(env.reset()[0]))
    env.close()
    return [e for e in episodes if e.frames]


def fill_from(buffer: ReplayBuffer, episodes: list[Episode], transitions: int) -> float:
    """Add `transitions` transitions replaying the recorded episodes in a cycle; seconds."""
    added, start = 0, time.perf_counter()
    for episode in itertools.cycle(episodes):
        obs = episode.first
        for k, frame in enumerate(episode.frames):
            next_obs = np.concatenate([obs[1:], frame[None]])
            last = k == len(episode.frames) - 1
            terminated = last and episode.terminated
            buffer.add(obs[None], [episode.actions[k]], [episode.rewards[k]], next_obs[None],
                       [terminated], [last and not terminated])  # fmt: skip
            obs, added = next_obs, added + 1
            if added == transitions:
                return time.perf_counter() - start
    raise AssertionError("unreachable")


def time_per_call(call, repeats: int, statistic=np.median) -> float:
    """Seconds per call: the median (or `statistic`) of `repeats` calls, after 5 to warm up."""
    for _ in range(5):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(statistic(times))


def codecs_section(frames: dict[str, np.ndarray], per_batch: int = 160) -> None:
    """Mean compressed size, and decompression time per frame in batches of `per_batch`
    random frames (about the distinct frames of a batch of 32 stacks of 4, obs and next_obs),
    LZ4 as the replay does it (`codec.decompress`) and Zstandard level 1 the same way."""
    print(
        "Frame codecs on frames from random play: mean bytes; decompression, us per frame "
        f"(best, in batches of {per_batch} frames joined into one array)"
    )
    zstd = None
    if importlib.util.find_spec("zstandard"):
        import zstandard

        compressor = zstandard.ZstdCompressor(level=1)
        decompressor = zstandard.ZstdDecompressor()
        zstd = (compressor.compress, decompressor.decompress)
    picks = np.random.default_rng(0).integers(0, min(len(f) for f in frames.values()), per_batch)
    for game, stack in frames.items():
        n = stack[0].nbytes
        lz4_blobs = [codec.compress(f) for f in stack]
        batch = [lz4_blobs[i] for i in picks.tolist()]
        seconds = time_per_call(lambda: codec.decompress(batch, n), 200, min) / per_batch  # noqa: B023
        row = f"  {game} {stack.shape[1:]} ({n:,} B raw): "
        row += f"lz4 {np.mean([len(b) for b in lz4_blobs]):,.0f} B, {seconds * 1e6:.2f} us"
        if zstd:
            blobs = [zstd[0](f.tobytes()) for f in stack]
            batch = [blobs[i] for i in picks.tolist()]

            def unpack():
                data = b"".join([zstd[1](b) for b in batch])  # noqa: B023
                return np.frombuffer(data, np.uint8).reshape(len(batch), n)  # noqa: B023

            seconds = time_per_call(unpack, 200, min) / per_batch
            row += f"; zstd-1 {np.mean([len(b) for b in blobs]):,.0f} B, {seconds * 1e6:.2f} us"
        print(row)


def bytes_section(game: str, episodes: list[Episode], capacity: int) -> float:
    """Bytes per stored transition of full buffers of real frames; returns the compressed +
    prioritized figure."""
    space = spaces.Box(0, 255, episodes[0].first.shape, np.uint8)
    actions = spaces.Discrete(max(max(e.actions) for e in episodes) + 1)
    print(f"{game} {space.shape} frames from random play, buffers of {capacity:,} filled:")
    figures = {}
    for label, settings in [
        ("frame-once raw", {"compress": False}),
        ("compressed", {"compress": True}),
        ("compressed + prioritized", {"compress": True, "prioritized": True}),
    ]:
        buffer = ReplayBuffer(capacity, space, actions, **settings)
        fill_from(buffer, episodes, capacity)
        figures[label] = buffer.nbytes / len(buffer)
        print(f"  {label}: {figures[label]:,.0f} bytes per transition")
    if importlib.util.find_spec("stable_baselines3"):
        sb3 = sb3_bytes_per_transition(False, space)
        print(f"  Stable-Baselines3: {sb3:,.0f} ({sb3 / figures['compressed']:,.0f}x compressed)")
    return figures["compressed + prioritized"]


def sampling_section(episodes: list[Episode], capacity: int, batch_size: int, threads: int) -> None:
    """One learning round's replay work, per buffer kind, beside one DQN gradient step (on
    a busy machine, more torch threads than free cores slow it down many times over)."""
    import torch

    from rlgames.agents import make_agent

    print(f"One learning round's replay work, Breakout, capacity {capacity:,}, batch {batch_size}")
    rng = np.random.default_rng(0)
    kinds = [
        ("uniform raw (today)", {"compress": False}),
        ("uniform compressed", {}),
        ("prioritized raw", {"compress": False, "prioritized": True}),
        ("prioritized compressed", {"prioritized": True}),
    ]
    costs = {}
    for label, settings in kinds:
        buffer = ReplayBuffer(capacity, OBS, ACTIONS, **settings)
        fill_from(buffer, episodes, capacity)
        costs[label] = time_per_call(replay_round(buffer, batch_size, rng), 500)
        del buffer
        gc.collect()
    torch.set_num_threads(threads)
    agent = make_agent("dqn", OBS, ACTIONS, seed=0, batch_size=batch_size)
    source = ReplayBuffer(5000, OBS, ACTIONS)
    fill_from(source, episodes, 5000)
    batch = source.sample(batch_size, rng)
    step = time_per_call(lambda: agent.update(batch), 30)
    base = costs["uniform raw (today)"]
    print(f"  DQN gradient step (Nature CNN, {threads} threads): {step * 1e3:,.1f} ms")
    for label, seconds in costs.items():
        extra = (seconds - base) / step * 100
        print(
            f"  {label}: {seconds * 1e6:,.0f} us per round ({seconds / step * 100:.1f} % of the "
            f"step; {extra:+.1f} % over today's uniform raw sample)"
            + ("  [sample + update_priorities]" if "prioritized" in label else "")
        )


def replay_round(buffer: ReplayBuffer, batch_size: int, rng: np.random.Generator):
    """The replay's part of one gradient step: a sample, and for PER its priority update."""
    if not buffer.prioritized:
        return lambda: buffer.sample(batch_size, rng)

    def sample_and_update():
        batch = buffer.sample(batch_size, rng, beta=0.5)
        buffer.update_priorities(batch.ids, rng.exponential(size=batch_size))

    return sample_and_update


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")  # resident pages


def resident_section(steps: int, capacity: int) -> None:
    """RSS growth of a big compressed, prioritized Breakout replay, in a fresh process (here,
    memory freed by the other sections could be reused and hide part of the growth)."""
    command = [sys.executable, __file__, "--resident-only", str(capacity), "--real-steps",
               str(steps)]  # fmt: skip
    subprocess.run(command, check=True)


def resident_only(steps: int, capacity: int) -> None:
    episodes = record("ALE/Breakout-v5", steps)
    gc.collect()
    before = rss_bytes()
    buffer = ReplayBuffer(capacity, OBS, ACTIONS, prioritized=True)
    seconds = fill_from(buffer, episodes, capacity)
    buffer.priorities  # noqa: B018  (every queued priority applied to the tree)
    gc.collect()
    grown = rss_bytes() - before
    print(
        f"{capacity:,}-transition Breakout replay, compressed + prioritized, filled in "
        f"{seconds:,.0f} s ({capacity / seconds:,.0f} add/s): RSS grew {grown / 2**30:.2f} GiB "
        f"({grown / capacity:,.0f} B per transition); nbytes {buffer.nbytes / 2**30:.2f} GiB "
        f"({buffer.bytes_per_transition:,.0f} B per transition)",
        flush=True,
    )


def noise_section(args) -> None:
    """Frames stored once, raw, on random noise: bytes beside SB3's, add and sample speed."""
    rng = np.random.default_rng(0)

    buffer = ReplayBuffer(args.capacity, OBS, ACTIONS, n_step=args.n_step, compress=False)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-step", type=int, default=1)
    parser.add_argument("--episode-length", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--real-steps", type=int, default=3000, help="env steps recorded")
    parser.add_argument("--bytes-capacity", type=int, default=20_000)
    parser.add_argument("--big-capacity", type=int, default=1_000_000)
    parser.add_argument("--no-dino", action="store_true", help="skip Chrome Dino")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, gradient step")
    parser.add_argument("--resident-only", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    keep_freed_memory()  # glibc keeps freed blocks for reuse, as training sets it
    if args.resident_only:
        return resident_only(args.real_steps, args.resident_only)
    noise_section(args)
    gc.collect()

    recorded = {"breakout": record("ALE/Breakout-v5", args.real_steps)}
    if not args.no_dino:
        try:
            recorded["dino"] = record("ChromeDino-v0", args.real_steps, size=(42, 160))
        except Exception as error:  # e.g. no Chromium here: the rest still runs
            print(f"Chrome Dino skipped: {type(error).__name__}: {error}")
    codecs_section({g: np.stack([f for e in eps for f in e.frames]) for g, eps in recorded.items()})
    resident_section(args.real_steps, args.big_capacity)
    figures = {g: bytes_section(g, eps, args.bytes_capacity) for g, eps in recorded.items()}
    sampling_section(recorded["breakout"], args.capacity, args.batch_size, args.threads)
    games = " ".join(f"{g}={figures[g]:.0f}" if g in figures else f"{g}=n/a" for g in GAMES)
    print(f"bytes/transition: {games}")


if __name__ == "__main__":
    main()
