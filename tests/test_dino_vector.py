"""Several Dino browsers at once: one per sub-env of an AsyncVectorEnv."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlgames

pytest.importorskip("selenium")
pytest.importorskip("websocket")

pytestmark = pytest.mark.dino


def test_async_vector_env_runs_two_browsers():
    envs = gym.vector.AsyncVectorEnv(
        [lambda: gym.make("ChromeDino-v0", obs_type="grayscale")] * 2,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    try:
        obs, info = envs.reset(seed=[3, 3])
        assert obs.shape == (2, 84, 84) and obs.dtype == np.uint8
        np.testing.assert_array_equal(obs[0], obs[1])  # same seed, same first frame
        episodes = 0
        for _ in range(150):
            obs, reward, terminated, truncated, info = envs.step(np.array([0, 1]))
            assert obs.shape == (2, 84, 84)
            episodes += int(terminated.sum())
        assert episodes >= 1  # running into cacti ends episodes; autoreset starts new ones
        assert not truncated.any()
        assert info["score"].shape == (2,)
    finally:
        envs.close()


def test_make_env_gives_a_vector_of_stacked_frames():
    envs = rlgames.make_env("ChromeDino-v0", n_envs=2, seed=0)
    try:
        assert isinstance(envs, gym.vector.AsyncVectorEnv)
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (2, 4, 84, 84) and obs.dtype == np.uint8
        obs, *_ = envs.step(envs.action_space.sample())
        assert obs.shape == (2, 4, 84, 84)
    finally:
        envs.close()
