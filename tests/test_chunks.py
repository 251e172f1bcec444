"""Actors' chunks: each frame sent once, and the learner's replay ends up as if it had
stepped the envs itself."""

from __future__ import annotations

import numpy as np
import pytest

from rlgames.agents import ReplayBuffer
from rlgames.config import TrainConfig
from rlgames.distributed.chunks import ChunkReader, ChunkWriter
from rlgames.training.collector import Collector
from rlgames.training.loop import make_train_envs


def play(env_id: str, steps: int, chunk: int, compress: bool, **env_kwargs):
    """(replay filled directly, replay filled from chunks on streams 1-2 of 3, chunks)."""
    config = TrainConfig(n_envs=2, env_kwargs=env_kwargs, episodic_life=True)
    envs = make_train_envs(env_id, config)
    collector = Collector(envs, seed=3)
    space, actions = envs.single_observation_space, envs.single_action_space
    stack = space.shape[0] if space.dtype == np.uint8 else 1
    direct = ReplayBuffer(400, space, actions, n_envs=2, n_step=3, compress=compress)
    remote = ReplayBuffer(600, space, actions, n_envs=3, n_step=3, compress=compress)
    writer = ChunkWriter(2, space.shape, space.dtype, stack, compress)
    reader = ChunkReader(remote, [1, 2])
    rng, chunks = np.random.default_rng(0), []
    for t in range(steps):
        transition, ended = collector.step(rng.integers(0, actions.n, size=2))
        direct.add(*transition)
        writer.add(*transition)
        for episode in ended:
            writer.episode(episode.env, episode.ret, episode.length, episode.score)
        if (t + 1) % chunk == 0 or t == steps - 1:
            chunks.append(writer.take())
            assert reader.add(chunks[-1]) == 2 * len(chunks[-1]["actions"])
    envs.close()
    return direct, remote, chunks


def same_streams(direct: ReplayBuffer, remote: ReplayBuffer) -> None:
    a, b = direct.state_dict(), remote.state_dict()
    for key in ("actions", "rewards", "flags", "written", "open"):
        np.testing.assert_array_equal(a[key], b[key][1:], err_msg=key)
    for e in range(2):
        for slot in range(min(direct.slots, int(direct.written[e]))):
            np.testing.assert_array_equal(
                direct._store.frame(e, slot), remote._store.frame(e + 1, slot)
            )


@pytest.mark.atari
@pytest.mark.parametrize("compress", [True, False])
def test_breakout_chunks_rebuild_the_replay_the_envs_would_have_filled(compress):
    # Episodes end (lives lost) inside chunks and across their edges.
    direct, remote, chunks = play("ALE/Breakout-v5", 260, chunk=37, compress=compress)
    same_streams(direct, remote)
    assert sum(len(c["episodes"]) for c in chunks) > 2
    frames = sum(len(c.get("frame_sizes", c.get("frames", []))) for c in chunks)
    starts = sum(int(c["starts"].sum()) for c in chunks)
    assert frames == 2 * 260 + 4 * starts  # one new frame a step; a start, its whole stack
    if compress:  # frames travel compressed: a small share of 84x84 bytes each
        sent = sum(c["frame_bytes"].nbytes for c in chunks)
        assert sent < frames * 84 * 84 / 4


def test_cartpole_chunks_carry_vectors_whole():
    direct, remote, chunks = play("CartPole-v1", 150, chunk=20, compress=False)
    same_streams(direct, remote)
    assert chunks[0]["frames"].shape[1:] == (4,) and chunks[0]["frames"].dtype == np.float32


def test_a_chunk_whose_frames_do_not_decode_is_refused_before_anything_is_stored():
    direct, remote, chunks = play("CartPole-v1", 40, chunk=40, compress=False)
    del direct
    frames = chunks[0]["frames"]
    broken = dict(chunks[0], frames=frames[:-1])
    replay = ReplayBuffer(600, remote_space(), actions_space(), n_envs=3, n_step=3)
    before = {k: np.copy(v) for k, v in replay.state_dict().items()}
    message = f"a chunk of 40 steps carries {len(frames) - 1} frames, not {len(frames)}"
    with pytest.raises(ValueError, match=message):
        ChunkReader(replay, [0, 1]).add(broken)
    after = replay.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.atari
def test_a_corrupt_compressed_frame_in_a_chunk_is_a_value_error_naming_it():
    _, remote, chunks = play("ALE/Breakout-v5", 30, chunk=30, compress=True)
    chunk = dict(chunks[0])
    chunk["frame_bytes"] = np.zeros_like(chunk["frame_bytes"]) + 255
    reader = ChunkReader(remote, [0, 1])
    with pytest.raises(ValueError, match="a chunk's frame is not a valid LZ4 block"):
        reader.add(chunk)


def remote_space():
    import gymnasium as gym

    return gym.make("CartPole-v1").observation_space


def actions_space():
    from gymnasium import spaces

    return spaces.Discrete(2)
