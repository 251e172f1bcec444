"""Super Mario Bros: one Gymnasium interface on every backend, on the real NES emulator.

Tests marked `mario` need the mario extra (gym-super-mario-bros 7.4.0 on Python < 3.13, on
numpy 1 or 2 through rlgames.envs.nes_compat; 9.x from 3.13). The unmarked ones need no emulator.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import rlgames
from rlgames.envs.mario import (
    ACTION_SETS,
    SuperMarioBrosEnv,
    TutorialReward,
    action_bytes,
)

RIGHT, RIGHT_JUMP = 0, 1  # the "right_only" actions


def backend_major() -> int:
    return int(importlib.metadata.version("gym-super-mario-bros").split(".")[0])


@pytest.fixture
def env():
    env = SuperMarioBrosEnv(world=1, stage=1, render_mode="rgb_array")
    yield env
    env.close()


def run_right(env: gym.Env, frames: int) -> list[dict]:
    """Hold right, jumping in bursts (20 frames of right + A every 40), like a first agent."""
    infos = []
    for i in range(frames):
        _, _, terminated, truncated, info = env.step(RIGHT_JUMP if i % 40 < 20 else RIGHT)
        infos.append(info)
        if terminated or truncated:
            break
    return infos


# ------------------------------------------------------------- no emulator needed


def test_action_sets_are_the_tutorials_and_the_librarys():
    assert ACTION_SETS["right_only"] == (("right",), ("right", "A"))
    assert len(ACTION_SETS["simple"]) == 7 and len(ACTION_SETS["complex"]) == 12
    assert action_bytes("right_only") == [0x80, 0x81]
    assert action_bytes([["NOOP"], ["left", "B"]]) == [0x00, 0x42]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"world": 1}, "both world and stage"),
        ({"world": 9, "stage": 1}, "world must be 1-8"),
        ({"actions": "everything"}, "actions must be one of"),
        ({"actions": [["jump"]]}, "unknown buttons"),
        ({"reward": "score"}, "reward must be one of"),
        ({"render_mode": "human"}, "render_mode"),
        ({"noop_max": -1}, "noop_max must be an integer >= 0"),
        ({"noop_max": 2.5}, "noop_max must be an integer >= 0"),
    ],
)
def test_bad_arguments_are_rejected_before_the_emulator_starts(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SuperMarioBrosEnv(**kwargs)


def test_tutorial_reward_is_progress_plus_clock_minus_death_clipped_to_15():
    reward = TutorialReward()
    reward.reset({"x_pos": 40, "time": 400})
    assert reward({"x_pos": 43, "time": 400}) == 3.0
    assert reward({"x_pos": 44, "time": 399}) == 0.0  # +1 px, -1 tick
    assert reward({"x_pos": 300, "time": 399}) == 0.0  # a jump over 5 px is a respawn, not progress
    assert reward({"x_pos": 300, "time": 398, "is_dying": True}) == -15.0


# ------------------------------------------------------------- the real emulator


@pytest.mark.mario
def test_check_env_passes_with_rgb_array_rendering():
    env = gym.make("rlgames/SuperMarioBros-1-1-v0", render_mode="rgb_array")
    try:
        check_env(env.unwrapped)  # the spec's nondeterministic=False adds the determinism checks
    finally:
        env.close()


@pytest.mark.mario
def test_frames_are_raw_240x256_rgb_copies(env):
    assert env.observation_space == spaces.Box(0, 255, (240, 256, 3), np.uint8)
    first, _ = env.reset(seed=0)
    kept = first.copy()
    obs, *_ = env.step(RIGHT)
    assert first.flags.c_contiguous and first.dtype == np.uint8
    np.testing.assert_array_equal(first, kept)  # a later step does not write into old frames
    np.testing.assert_array_equal(env.render(), obs)
    np.testing.assert_array_equal(obs, np.array(env.unwrapped._game.screen))
    assert len(np.unique(obs.reshape(-1, 3), axis=0)) > 3  # a real picture, not a blank screen


@pytest.mark.mario
def test_running_right_for_500_frames_moves_mario_right(env):
    _, info = env.reset(seed=0)
    assert {"x_pos", "flag_get", "life", "score", "time", "stage", "world"} <= info.keys()
    assert (info["world"], info["stage"]) == (1, 1)
    infos = run_right(env, 500)
    assert len(infos) == 500, "Mario died while running right"
    assert infos[-1]["x_pos"] > info["x_pos"] + 300
    assert infos[-1]["time"] < info["time"]  # the game clock ran


@pytest.mark.mario
def test_same_seed_and_actions_give_the_same_frames():
    rng = np.random.default_rng(0)
    actions = rng.integers(0, len(ACTION_SETS["simple"]), size=300)
    runs = []
    for _ in range(2):
        env = SuperMarioBrosEnv(world=1, stage=1, actions="simple")
        frames, rewards = [env.reset(seed=3)[0]], []
        for a in actions:
            obs, reward, terminated, truncated, _ = env.step(a)
            frames.append(obs)
            rewards.append(reward)
            if terminated or truncated:
                break
        env.close()
        runs.append((np.stack(frames), rewards))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@pytest.mark.mario
def test_reset_returns_to_the_first_frame_of_the_stage(env):
    first, info = env.reset(seed=0)
    run_right(env, 100)
    again, info_again = env.reset()
    np.testing.assert_array_equal(first, again)
    assert info == info_again


@pytest.mark.mario
def test_running_into_the_first_goomba_ends_the_stage_episode_with_the_death_penalty(env):
    env.reset(seed=0)
    for _ in range(1000):
        _, reward, terminated, truncated, info = env.step(RIGHT)
        if terminated:
            break
    assert terminated and not truncated and not info["flag_get"]
    assert reward == -15.0


@pytest.mark.mario
def test_whole_game_env_starts_at_world_1_stage_1():
    env = gym.make("rlgames/SuperMarioBros-v0")
    try:
        _, info = env.reset(seed=0)
        assert (info["world"], info["stage"], info["life"]) == (1, 1, 2)
    finally:
        env.close()


@pytest.mark.mario
def test_a_stage_id_starts_in_that_stage():
    env = gym.make("rlgames/SuperMarioBros-4-2-v0")
    try:
        _, info = env.reset(seed=0)
        assert (info["world"], info["stage"]) == (4, 2)
    finally:
        env.close()


@pytest.mark.mario
@pytest.mark.skipif(
    importlib.util.find_spec("gym_super_mario_bros") is None or backend_major() >= 9,
    reason="7.4.0's own reward is the reference the tutorial reward reproduces",
)
def test_tutorial_reward_recomputed_from_info_equals_the_7_4_reward():
    env = SuperMarioBrosEnv(world=1, stage=1, actions="simple")
    try:
        _, info = env.reset(seed=0)
        recomputed = TutorialReward()
        recomputed.reset(info)
        rng = np.random.default_rng(1)
        for i in range(1000):  # random buttons, then straight right into the first goomba
            action = rng.integers(0, env.action_space.n) if i < 120 else 1  # right
            _, reward, terminated, _, info = env.step(action)
            # in a stage env, an episode ends on death or on the flag
            info["is_dying"] = terminated and not info["flag_get"]
            assert recomputed(info) == reward
            if terminated:
                break
        assert terminated, "the run should end in a death, to compare the death penalty too"
    finally:
        env.close()


@pytest.mark.mario
def test_close_twice_is_harmless(env):
    env.close()
    env.close()


@pytest.mark.mario
def test_make_env_gives_the_tutorials_four_stacked_84x84_gray_frames():
    env = rlgames.make_env("SuperMarioBros-1-1-v0")
    try:
        assert env.observation_space == spaces.Box(0, 255, (4, 84, 84), np.uint8)
        obs, info = env.reset(seed=0)
        start = info["x_pos"]
        for i in range(125):  # 500 frames at 4 frames per step, jumping as in run_right
            obs, _, terminated, _, info = env.step(RIGHT_JUMP if i % 10 < 5 else RIGHT)
            assert not terminated
        assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
        assert info["x_pos"] > start + 300
    finally:
        env.close()


@pytest.mark.mario
def test_make_env_runs_mario_in_parallel_processes():
    envs = rlgames.make_env("SuperMarioBros-1-1-v0", n_envs=2, seed=0, noop_max=0)
    try:
        assert isinstance(envs, gym.vector.AsyncVectorEnv)
        obs, _ = envs.reset(seed=0)
        obs, rewards, *_ = envs.step(np.array([RIGHT, RIGHT]))
        assert obs.shape == (2, 4, 84, 84)
        np.testing.assert_array_equal(obs[0], obs[1])  # same start, same actions
    finally:
        envs.close()


class _RunRight:
    """Presses "right" only (action 0 of the tutorial's set), on one env or a batch."""

    def act(self, obs, epsilon: float = 0.0):
        return 0 if obs.ndim == 3 else np.zeros(len(obs), dtype=np.int64)


@pytest.mark.mario
def test_evaluation_reports_x_pos_and_the_flag_at_each_episodes_end():
    from rlgames.training.evaluation import evaluate_episodes

    env = rlgames.make_env("SuperMarioBros-1-1-v0", noop_max=0)
    try:
        one = evaluate_episodes(_RunRight(), env, 1, [0])
    finally:
        env.close()
    envs = rlgames.make_env(
        "SuperMarioBros-1-1-v0",
        n_envs=2,
        autoreset_mode=gym.vector.AutoresetMode.DISABLED,
        noop_max=0,
    )
    try:
        two = evaluate_episodes(_RunRight(), envs, 2, [0, 1])
    finally:
        envs.close()
    # Running right without jumping, Mario dies at the first goomba, short of the flag.
    assert one["flag_get"].tolist() == [0.0] and two["flag_get"].tolist() == [0.0, 0.0]
    assert 200 < one["x_pos"][0] < 1000
    assert two["x_pos"].tolist() == [one["x_pos"][0]] * 2  # no no-op starts: the same game
    assert set(one) == {"seed", "return", "length", "score", "x_pos", "flag_get"}


@pytest.mark.mario
def test_noop_starts_press_nothing_for_a_seeded_number_of_frames():
    noops = SuperMarioBrosEnv(world=1, stage=1, noop_max=30)
    plain = SuperMarioBrosEnv(world=1, stage=1, actions="simple")  # its action 0 is NOOP
    try:
        starts = []
        for seed in range(4):
            frames = int(np.random.default_rng(seed).integers(0, 31))  # reset's own draw
            obs, info = noops.reset(seed=seed)
            plain.reset(seed=seed)
            for _ in range(frames):
                expected, *_, expected_info = plain.step(0)
            if frames:
                np.testing.assert_array_equal(obs, expected)
                assert info == expected_info
            again, _ = noops.reset(seed=seed)
            np.testing.assert_array_equal(again, obs)  # the same seed, the same start
            starts.append(frames)
        assert len(set(starts)) > 1  # different seeds, different starts
    finally:
        noops.close()
        plain.close()


@pytest.mark.mario
def test_make_env_starts_mario_after_seeded_noops_unless_told_not_to():
    env = rlgames.make_env("SuperMarioBros-1-1-v0")
    plain = rlgames.make_env("SuperMarioBros-1-1-v0", noop_max=0)
    try:
        assert env.unwrapped.noop_max == 30 and plain.unwrapped.noop_max == 0
        starts = [env.reset(seed=seed)[0] for seed in range(4)]
        np.testing.assert_array_equal(env.reset(seed=0)[0], starts[0])  # seeded
        assert any(not np.array_equal(starts[0], other) for other in starts[1:])
        firsts = [plain.reset(seed=seed)[0] for seed in range(2)]
        np.testing.assert_array_equal(firsts[0], firsts[1])  # the emulator alone: one start
    finally:
        env.close()
        plain.close()
