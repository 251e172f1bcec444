"""`make_env` builds each game with the shared preprocessing and the per-game defaults."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import rlgames
from rlgames.envs.factory import game_family, resolve_id


def test_cartpole_stays_a_state_vector():
    env = rlgames.make_env("CartPole-v1")
    assert env.observation_space.shape == (4,)
    assert env.observation_space.dtype == np.float32
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,)


def test_cartpole_vector_env_has_one_row_per_env():
    envs = rlgames.make_env("CartPole-v1", n_envs=3, seed=0)
    try:
        assert isinstance(envs, gym.vector.SyncVectorEnv)
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (3, 4)
    finally:
        envs.close()


def test_seed_makes_cartpole_reproducible():
    a = rlgames.make_env("CartPole-v1", seed=7)
    b = rlgames.make_env("CartPole-v1", seed=7)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])


def test_mario_ids_resolve_without_namespace():
    assert resolve_id("SuperMarioBros-1-1-v0") == "rlgames/SuperMarioBros-1-1-v0"
    assert resolve_id("rlgames:ChromeDino-v0") == "ChromeDino-v0"
    assert game_family("SuperMarioBros-2-3-v0") == "mario"
    assert game_family("ChromeDino-v0") == "dino"
    assert game_family("ALE/Breakout-v5") == "atari"
    assert game_family("CartPole-v1") == "classic"


def test_bad_n_envs_is_rejected():
    with pytest.raises(ValueError, match="n_envs"):
        rlgames.make_env("CartPole-v1", n_envs=0)


@pytest.mark.atari
def test_breakout_gives_four_stacked_84x84_gray_frames():
    env = rlgames.make_env("ALE/Breakout-v5")
    try:
        assert env.observation_space == spaces.Box(0, 255, (4, 84, 84), np.uint8)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
        assert env.unwrapped._frameskip == 1  # our skip does the skipping, not the ALE's
    finally:
        env.close()


@pytest.mark.atari
def test_breakout_same_seed_same_frames():
    def rollout(seed: int) -> list[np.ndarray]:
        env = rlgames.make_env("ALE/Breakout-v5", seed=seed)
        frames = [env.reset()[0]]
        for action in [1, 2, 3, 2, 2, 3, 0, 1] * 5:
            frames.append(env.step(action)[0])
        env.close()
        return frames

    for x, y in zip(rollout(3), rollout(3)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.atari
def test_breakout_episodic_life_ends_episode_on_a_lost_life():
    env = rlgames.make_env("ALE/Breakout-v5", episodic_life=True, seed=0)
    base = env.unwrapped
    env.reset()
    lives = base.ale.lives()
    for _ in range(2000):  # standing still, the ball is soon missed
        _, _, terminated, truncated, _ = env.step(0)
        if terminated or truncated:
            break
    assert terminated and base.ale.lives() == lives - 1
    env.reset()  # continues the same game: no new lives
    assert base.ale.lives() == lives - 1
    env.close()


@pytest.mark.atari
def test_breakout_whole_game_serves_each_new_ball_so_standing_still_ends_the_game():
    # Without FIRE after a lost life the ball never comes back and the game stalls to its
    # limit; with it, an agent that never moves loses all five lives and the game ends.
    env = rlgames.make_env("ALE/Breakout-v5", max_episode_steps=5_000, seed=0)
    base = env.unwrapped
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
    assert terminated and not truncated and base.ale.lives() == 0
    assert steps < 2_000
    env.close()


@pytest.mark.atari
@pytest.mark.parametrize("episodic_life", [False, True])
def test_breakout_max_episode_steps_counts_the_agents_steps_not_emulator_frames(episodic_life):
    # With life loss the limit is the whole game's, across lives, and FIRE at reset counts.
    env = rlgames.make_env(
        "ALE/Breakout-v5", max_episode_steps=12, episodic_life=episodic_life, seed=0
    )  # reset once, with the seed
    steps, frames = 0, env.unwrapped.ale.getEpisodeFrameNumber()
    while True:
        steps += 1
        _, _, terminated, truncated, info = env.step(0)  # the ball is not lost this soon
        if terminated or truncated:
            break
    assert truncated and not terminated
    assert steps == (10 if episodic_life else 12)
    assert info["episode_frame_number"] - frames == 4 * steps  # skip 4: frames are not steps
    env.close()


@pytest.mark.mario
def test_max_episode_steps_0_adds_no_limit():
    from gymnasium.wrappers import TimeLimit

    def limits(env):
        while env is not None:
            if isinstance(env, TimeLimit):
                yield env._max_episode_steps
            env = getattr(env, "env", None)

    capped = rlgames.make_env("SuperMarioBros-1-1-v0", max_episode_steps=7)
    free = rlgames.make_env("SuperMarioBros-1-1-v0", max_episode_steps=0)
    try:
        assert list(limits(capped)) == [7] and list(limits(free)) == []
    finally:
        capped.close()
        free.close()


@pytest.mark.atari
@pytest.mark.parametrize("action", [-1, 4, 1.5, "fire"])
def test_breakout_refuses_an_action_outside_its_space_in_one_error(action):
    env = rlgames.make_env("ALE/Breakout-v5", seed=0)
    env.step(np.int64(1))  # numpy integers, as a vector env passes them, are fine
    with pytest.raises(ValueError, match=r"takes an integer from 0 to 3"):
        env.step(action)  # the ALE itself takes -1 as its last action and fails on 4
    env.close()


@pytest.mark.atari
def test_breakout_clip_reward_bounds_rewards():
    env = rlgames.make_env("ALE/Breakout-v5", clip_reward=True, seed=0)
    env.reset()
    rewards = {env.step(int(a))[1] for a in np.random.default_rng(0).integers(0, 4, 300)}
    assert rewards <= {0.0, 1.0}
    env.close()


def test_check_env_passes_on_cartpole_through_make_env():
    check_env(rlgames.make_env("CartPole-v1").unwrapped, skip_render_check=True)


@pytest.mark.dino
def test_dino_through_make_env_gives_stacked_gray_frames():
    with rlgames.make_env("ChromeDino-v0") as env:
        assert env.observation_space == spaces.Box(0, 255, (4, 84, 84), np.uint8)
        assert env.reset(seed=0)[0].shape == (4, 84, 84)
        assert env.step(0)[0].shape == (4, 84, 84)


# check_env on ChromeDino-v0 and the Mario make_env pipeline are in test_dino_env.py and
# test_mario.py; here every registered Mario id is checked.
@pytest.mark.mario
@pytest.mark.parametrize(
    "env_id", [i for i in rlgames.registered_ids() if i.startswith("rlgames/SuperMarioBros")]
)
def test_check_env_passes_on_every_mario_id(env_id):
    with gym.make(env_id) as env:
        check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.dino
def test_every_sub_env_gets_the_callers_keywords():
    # make_env consumes obs_type for the Dino pipeline: each sub-env must still see it
    envs = rlgames.make_env("ChromeDino-v0", n_envs=2, obs_type="state", vectorization_mode="sync")
    try:
        assert envs.single_observation_space.dtype == np.float32
        assert envs.reset(seed=0)[0].shape == (2, *envs.single_observation_space.shape)
    finally:
        envs.close()


def test_cartpole_with_skip_and_stack_stays_a_state_vector():
    env = rlgames.make_env("CartPole-v1", skip=2, stack=3)
    assert env.observation_space.shape == (3, 4)
    assert env.reset(seed=0)[0].shape == (3, 4)
