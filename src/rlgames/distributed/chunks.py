"""What an actor sends the learner: its steps in chunks that carry each frame once.

A chunk is a plain dict of numpy arrays (nothing else crosses the network). For T steps of an
actor's m sub-envs it holds the actions, rewards and end flags (T, m), which steps start an
episode, and the frames: per step and sub-env, the whole first observation where an episode
starts, then the newest frame of the next observation. Stacks are rebuilt by the learner's
`ChunkReader`, which hands them to the replay's `add` as any other source of transitions
does. Image frames travel LZ4-compressed (`rlgames.agents.codec`); vectors as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlgames.agents import codec
from rlgames.agents.replay import ReplayBuffer


class ChunkWriter:
    """Records an actor's vector-env steps; `take()` returns them as one chunk."""

    def __init__(
        self, n_envs: int, obs_shape: tuple, dtype: Any, frame_stack: int, compress: bool
    ) -> None:
        self.n_envs, self.frame_stack, self.compress = int(n_envs), int(frame_stack), compress
        self.obs_shape, self.dtype = tuple(obs_shape), np.dtype(dtype)
        self.starting = np.ones(self.n_envs, dtype=bool)  # the next obs starts an episode
        self._clear()

    def _clear(self) -> None:
        self._steps: list[tuple] = []
        self._starts: list[np.ndarray] = []
        self._frames: list[np.ndarray] = []
        self._episodes: list[tuple[int, float, int, float]] = []

    def _frames_of(self, obs: np.ndarray) -> np.ndarray:
        return obs.reshape(self.frame_stack, -1) if self.frame_stack > 1 else obs.reshape(1, -1)

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
    ) -> None:
        """One vector step, as the replay's `add` takes it (next_obs: the real final one)."""
        for e in range(self.n_envs):
            if self.starting[e]:
                self._frames.extend(self._frames_of(obs[e]))
            self._frames.append(self._frames_of(next_obs[e])[-1])
        self._starts.append(self.starting.copy())
        self._steps.append((actions, rewards, terminated, truncated))
        self.starting = np.asarray(terminated) | np.asarray(truncated)

    def episode(self, env: int, ret: float, length: int, score: float | None) -> None:
        """An episode that ended in sub-env `env` (`score`: the game's own, if any)."""
        self._episodes.append((env, ret, length, np.nan if score is None else score))

    def restart(self) -> None:
        """The envs were reset outside `add` (new episodes everywhere): start them anew."""
        self.starting[:] = True

    def take(self) -> dict[str, np.ndarray]:
        """The chunk of the steps since the last `take`, and forget them."""
        actions, rewards, terminated, truncated = (np.array(x) for x in zip(*self._steps))
        chunk = {
            "actions": actions.astype(np.int64).reshape(-1, self.n_envs),
            "rewards": rewards.astype(np.float64).reshape(-1, self.n_envs),
            "terminated": terminated.astype(bool).reshape(-1, self.n_envs),
            "truncated": truncated.astype(bool).reshape(-1, self.n_envs),
            "starts": np.array(self._starts, dtype=bool),
        }
        frames = np.stack(self._frames).astype(self.dtype, copy=False)
        if self.compress:
            blobs = [codec.compress(f) for f in frames]
            chunk["frame_sizes"] = np.array([len(b) for b in blobs], dtype=np.int64)
            chunk["frame_bytes"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        else:
            chunk["frames"] = frames
        ep = np.array(self._episodes, dtype=np.float64).reshape(-1, 4)
        chunk["episodes"] = ep  # rows: env, return, length, score (nan: none)
        self._clear()
        return chunk


class ChunkReader:
    """Adds an actor's chunks to the learner's replay, on the replay streams given to it."""

    def __init__(self, replay: ReplayBuffer, streams: list[int]) -> None:
        self.replay, self.streams = replay, list(streams)
        self.obs: np.ndarray | None = None  # the current observation of each stream

    def add(self, chunk: dict[str, np.ndarray]) -> int:
        """Store a chunk's transitions; returns how many. A chunk that does not decode is a
        ValueError before anything is stored."""
        frames = self._frames(chunk)
        replay, m = self.replay, len(self.streams)
        stack, shape = replay.frame_stack, replay.obs_shape
        obs = np.zeros((m, *shape), replay.obs_dtype) if self.obs is None else self.obs
        steps, k, staged = chunk["actions"].shape[0], 0, []
        expected = steps * m + stack * int(chunk["starts"].sum())
        if len(frames) != expected:
            raise ValueError(
                f"a chunk of {steps} steps carries {len(frames)} frames, not {expected}"
            )
        for t in range(steps):
            obs, nxt = obs.copy(), np.empty_like(obs)
            for e in range(m):
                if chunk["starts"][t, e]:
                    obs[e] = frames[k : k + stack].reshape(shape)
                    k += stack
                kept = obs[e].reshape(stack, -1)[1:]  # the stack shifted by one frame
                nxt[e] = np.concatenate([kept, frames[k : k + 1]]).reshape(shape)
                k += 1
            staged.append((obs, nxt))
            obs = nxt
        for t, (o, n) in enumerate(staged):
            starts = chunk["starts"][t]
            if starts.any():  # a new episode there (also after an actor was restarted)
                replay.open[np.asarray(self.streams)[starts]] = False
            replay.add(
                o, chunk["actions"][t], chunk["rewards"][t], n,
                chunk["terminated"][t], chunk["truncated"][t], envs=self.streams,
            )  # fmt: skip
        self.obs = obs
        return steps * m

    def _frames(self, chunk: dict[str, np.ndarray]) -> np.ndarray:
        """The chunk's frames, (N, values per frame), decoded and checked."""
        replay = self.replay
        per_frame = int(np.prod(replay.obs_shape)) // replay.frame_stack
        if "frames" in chunk:
            frames = np.asarray(chunk["frames"], dtype=replay.obs_dtype)
            return frames.reshape(len(frames), per_frame)
        sizes, data = chunk["frame_sizes"], chunk["frame_bytes"].tobytes()
        ends = np.cumsum(sizes)
        if len(ends) and ends[-1] != len(data):
            raise ValueError(f"a chunk's frame sizes add up to {ends[-1]}, not {len(data)} bytes")
        blobs = [data[a:b] for a, b in zip(ends - sizes, ends, strict=True)]
        nbytes = per_frame * replay.obs_dtype.itemsize
        for blob in blobs:
            problem = codec.check(blob, nbytes)
            if problem is not None:
                raise ValueError(f"a chunk's frame is {problem}")
        return codec.decompress(blobs, nbytes).view(replay.obs_dtype).reshape(-1, per_frame)
