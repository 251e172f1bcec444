"""The shared wrappers, checked against hand-computed arrays."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from rlgames.wrappers import ChannelsFirst, FrameStack, GrayScale, Resize, SkipFrame, preprocess
from scripted_env import CounterEnv


def test_skip_frame_repeats_action_and_sums_rewards():
    env = SkipFrame(CounterEnv(length=10), skip=4)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(0)
    assert reward == 1 + 2 + 3 + 4
    assert info["t"] == 4 and obs[0, 0, 0] == 4
    assert not terminated and not truncated


def test_skip_frame_stops_at_termination():
    inner = CounterEnv(length=6)
    env = SkipFrame(inner, skip=4)
    env.reset(seed=0)
    env.step(0)
    obs, reward, terminated, truncated, _ = env.step(0)
    assert reward == 5 + 6  # frames 5 and 6, then the episode ended
    assert terminated and not truncated
    assert inner.steps_taken == 6  # no frame played past the end


def test_skip_frame_stops_at_truncation():
    env = SkipFrame(CounterEnv(length=3, truncate=True), skip=4)
    env.reset(seed=0)
    _, reward, terminated, truncated, _ = env.step(0)
    assert reward == 1 + 2 + 3
    assert truncated and not terminated


def test_skip_frame_rejects_non_positive_skip():
    with pytest.raises(ValueError, match="positive"):
        SkipFrame(CounterEnv(), skip=0)


def test_grayscale_uses_luma_weights():
    env = GrayScale(CounterEnv())
    obs, _ = env.reset(seed=0)
    assert env.observation_space == spaces.Box(0, 255, (6, 8), np.uint8)
    assert obs.shape == (6, 8) and obs.dtype == np.uint8
    _, _, _, _, _ = env.step(0)
    obs, *_ = env.step(0)  # value 2 in all channels: gray = 2 * (0.2125 + 0.7154 + 0.0721)
    expected = np.uint8(2 * 0.2125 + 2 * 0.7154 + 2 * 0.0721)
    assert (obs == expected).all()


def test_resize_accepts_int_and_tuple():
    assert Resize(GrayScale(CounterEnv()), 4).observation_space.shape == (4, 4)
    assert Resize(CounterEnv(), (3, 5)).observation_space.shape == (3, 5, 3)


def test_frame_stack_pads_with_first_frame_at_reset():
    env = FrameStack(GrayScale(CounterEnv(length=10)), 4)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 6, 8)
    np.testing.assert_array_equal(obs[:, 0, 0], [0, 0, 0, 0])
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs[:, 0, 0], [0, 0, 0, 1])
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs[:, 0, 0], [0, 0, 1, 2])


def test_frame_stack_never_mixes_two_episodes():
    env = FrameStack(GrayScale(CounterEnv(length=3)), 4)
    env.reset(seed=0)
    for _ in range(3):
        obs, _, terminated, _, _ = env.step(0)
    assert terminated
    np.testing.assert_array_equal(obs[:, 0, 0], [0, 1, 2, 3])
    obs, _ = env.reset()  # episode 1 starts at value 10: no frame of episode 0 remains
    np.testing.assert_array_equal(obs[:, 0, 0], [10, 10, 10, 10])
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs[:, 0, 0], [10, 10, 10, 11])


def test_channels_first_moves_colour_axis():
    env = ChannelsFirst(CounterEnv())
    obs, _ = env.reset(seed=0)
    assert env.observation_space.shape == (3, 6, 8) == obs.shape


def test_preprocess_gray_gives_uint8_channel_first_stack():
    env = preprocess(CounterEnv(length=50, shape=(30, 40)), skip=2, gray=True, size=12, stack=4)
    assert env.observation_space == spaces.Box(0, 255, (4, 12, 12), np.uint8)
    env.reset(seed=0)
    obs, reward, *_ = env.step(0)
    assert obs.shape == (4, 12, 12) and obs.dtype == np.uint8
    assert reward == 1 + 2


def test_preprocess_colour_merges_stack_and_channels():
    env = preprocess(CounterEnv(shape=(30, 40)), skip=None, gray=False, size=(10, 20), stack=2)
    assert env.observation_space.shape == (6, 10, 20)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (6, 10, 20)


def test_grayscale_is_bit_identical_to_gymnasiums():
    from gymnasium.wrappers import GrayscaleObservation

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (50, 24, 32, 3), dtype=np.uint8)
    ours = GrayScale(CounterEnv(shape=(24, 32)))
    theirs = GrayscaleObservation(CounterEnv(shape=(24, 32)))
    assert ours.observation_space == theirs.observation_space
    for frame in frames:
        np.testing.assert_array_equal(ours.observation(frame), theirs.observation(frame))


def test_grayscale_rejects_non_rgb_observations():
    with pytest.raises(ValueError, match="RGB"):
        GrayScale(GrayScale(CounterEnv()))


def test_preprocess_on_state_vectors_skips_and_stacks_without_pixel_steps():
    from gymnasium.wrappers import FlattenObservation

    env = preprocess(FlattenObservation(CounterEnv(shape=(2, 2))), skip=2, gray=False, size=None)
    assert env.observation_space.shape == (4, 12)
    env.reset(seed=0)
    assert env.step(0)[1] == 1 + 2
