"""ChromeDino-v0 is a Gymnasium env: its spaces, rewards, info, render and errors."""

from __future__ import annotations

import os
import time

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env

import rlgames  # noqa: F401 - registers ChromeDino-v0

pytest.importorskip("selenium")
pytest.importorskip("websocket")

from rlgames.envs.dino import ChromeDinoEnv  # noqa: E402
from rlgames.envs.dino.browser import BrowserNotFoundError  # noqa: E402


@pytest.fixture(scope="module")
def state_env():
    env = ChromeDinoEnv(obs_type="state", acceleration=False, birds=False)
    yield env
    env.close()


@pytest.mark.dino
def test_check_env_passes_on_the_registered_env():
    env = gym.make("ChromeDino-v0")
    try:
        check_env(env.unwrapped)
    finally:
        env.close()


@pytest.mark.dino
def test_rgb_is_the_canvas_composited_on_white(state_env):
    env = gym.make("ChromeDino-v0", render_mode="rgb_array")
    try:
        obs, _ = env.reset(seed=0)
        h, w = obs.shape[:2]
        assert env.observation_space == spaces.Box(0, 255, (h, w, 3), np.uint8)
        assert h == 150 and w >= 500  # the game's canvas: 150 high, 552-600 wide
        assert obs.dtype == np.uint8
        assert np.median(obs) == 255  # transparent background shows white, not black
        assert obs.min() < 128  # the dino and the ground are drawn dark
        np.testing.assert_array_equal(env.render(), obs)
    finally:
        env.close()


@pytest.mark.dino
def test_grayscale_obs_has_the_asked_size():
    env = ChromeDinoEnv(obs_type="grayscale", screen_size=(60, 120))
    try:
        assert env.observation_space == spaces.Box(0, 255, (60, 120), np.uint8)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (60, 120) and obs.dtype == np.uint8
        obs, *_ = env.step(0)
        assert env.observation_space.contains(obs)
    finally:
        env.close()


@pytest.mark.dino
def test_state_obs_describes_dino_and_next_obstacles(state_env):
    obs, _ = state_env.reset(seed=0)
    assert state_env.observation_space.shape == (15,)
    assert obs.dtype == np.float32 and state_env.observation_space.contains(obs)
    height, _, jumping, ducking, speed = obs[:5]
    assert height == 0 and jumping == 0 and ducking == 0
    assert speed == pytest.approx(6 / 13, abs=1e-3)
    assert list(obs[5:]) == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0]  # no obstacles yet
    obs, *_ = state_env.step(1)
    assert obs[2] == 1 and obs[0] > 0 and obs[1] > 0  # in the air, going up
    for _ in range(100):  # obstacles start after 3 s of game time
        obs, *_ = state_env.step(0)
        if obs[5] > 0:
            break
    kind, x, y, width, height = obs[5:10]
    assert np.isclose(kind, [1 / 3, 2 / 3]).any()  # a small or a large cactus
    assert 0.5 < x < 1.2 and 0.5 < y < 1 and 0 < width < 0.2 and 0 < height < 0.4


@pytest.mark.dino
def test_duck_holds_while_repeated_and_releases_otherwise(state_env):
    state_env.reset(seed=0)
    obs, *_ = state_env.step(2)
    assert obs[3] == 1
    obs, *_ = state_env.step(2)
    assert obs[3] == 1
    obs, *_ = state_env.step(0)
    assert obs[3] == 0


@pytest.mark.dino
def test_survival_reward_is_a_tenth_per_step_and_minus_one_on_crash(state_env):
    state_env.reset(seed=0)
    rewards, info, terminated = [], {}, False
    while not terminated:
        _, reward, terminated, truncated, info = state_env.step(0)
        rewards.append(reward)
        assert not truncated
    assert rewards[-1] == -1.0
    assert set(rewards[:-1]) == {0.1}
    assert info["score"] > 0 and info["high_score"] >= info["score"]
    assert set(info) >= {"score", "high_score", "speed", "frame", "browser_restarted"}
    assert info["frame"] > 4 * (len(rewards) - 1)  # frame_skip 4 frames a step


@pytest.mark.dino
def test_jump_penalty_and_score_rewards():
    env = ChromeDinoEnv(obs_type="state", reward="jump_penalty")
    try:
        env.reset(seed=0)
        assert env.step(1)[1] == -0.01
        assert env.step(0)[1] == 0.1
        terminated = False
        while not terminated:
            _, reward, terminated, _, _ = env.step(0)
        assert reward == -10.0
    finally:
        env.close()
    env = ChromeDinoEnv(obs_type="state", reward="score")
    try:
        env.reset(seed=0)
        total, terminated = 0.0, False
        while not terminated:
            _, reward, terminated, _, info = env.step(0)
            total += reward
        assert reward == -1.0
        # Score rewards add up to the displayed score, but for the crashing step's part.
        assert info["score"] - 1 <= total + 1.0 <= info["score"]
    finally:
        env.close()


@pytest.mark.dino
@pytest.mark.parametrize("action", [3, -1, 1.5, "jump", None])
def test_invalid_actions_raise_a_clear_error(state_env, action):
    state_env.reset(seed=0)
    with pytest.raises(ValueError, match=r"0 \(run\), 1 \(jump\) or 2 \(duck\)"):
        state_env.step(action)


@pytest.mark.dino
def test_numpy_integer_actions_are_accepted(state_env):
    state_env.reset(seed=0)
    state_env.step(np.int64(1))
    state_env.step(np.array(0))


def test_missing_chromium_names_the_install_command_and_keywords():
    with pytest.raises(BrowserNotFoundError) as err:
        ChromeDinoEnv(chrome_path="/nonexistent/chromium")
    message = str(err.value)
    assert "/nonexistent/chromium" in message
    assert "apt-get install chromium chromium-driver" in message
    assert "chrome_path=" in message and "driver_path=" in message


def test_missing_driver_names_the_install_command_and_keywords():
    with pytest.raises(BrowserNotFoundError, match="chromedriver not found at /no/driver"):
        ChromeDinoEnv(driver_path="/no/driver", chrome_path="/bin/sh")


def test_bad_options_are_rejected_before_any_browser_starts():
    with pytest.raises(ValueError, match="obs_type"):
        ChromeDinoEnv(obs_type="pixels")
    with pytest.raises(ValueError, match="reward"):
        ChromeDinoEnv(reward="distance")
    with pytest.raises(ValueError, match="frame_skip"):
        ChromeDinoEnv(frame_skip=0)


def test_human_render_mode_without_a_display_says_so(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RuntimeError, match="needs a display"):
        ChromeDinoEnv(render_mode="human")


@pytest.mark.dino
def test_without_acceleration_the_speed_stays_six(state_env):
    state_env.reset(seed=0)
    speeds = {state_env.step(0)[4]["speed"] for _ in range(20)}
    assert speeds == {6.0}


@pytest.mark.dino
def test_max_speed_caps_the_speed():
    env = ChromeDinoEnv(obs_type="state", max_speed=6.05)
    try:
        env.reset(seed=0)
        speeds = [env.step(0)[4]["speed"] for _ in range(40)]
    finally:
        env.close()
    assert speeds[0] < 6.05 and max(speeds) == pytest.approx(6.05, abs=0.002)


def play_fast(env: ChromeDinoEnv, seed: int) -> tuple[float, int]:
    """Jump cacti with the state obs until the game is fast; (top speed, birds seen)."""
    obs, info = env.reset(seed=seed)
    birds = 0
    for _ in range(2000):
        kind, x, speed = obs[5], obs[6], obs[4] * 13
        obs, _, terminated, _, info = env.step(1 if kind > 0 and x < 0.025 * speed else 0)
        birds += int(np.isclose(obs[5], 1.0) or np.isclose(obs[10], 1.0))
        if terminated or info["speed"] > 9.5:
            break
    return info["speed"], birds


@pytest.mark.dino
def test_birds_come_at_speed_and_birds_false_removes_them():
    env = ChromeDinoEnv(obs_type="state", birds=False)
    try:
        top_speed, birds = play_fast(env, seed=1)
    finally:
        env.close()
    assert top_speed > 9 and birds == 0  # pterodactyls would fly from speed 8.5
    env = ChromeDinoEnv(obs_type="state")
    try:
        _, birds = play_fast(env, seed=1)
    finally:
        env.close()
    assert birds > 0


@pytest.mark.dino
def test_a_resized_window_does_not_disturb_the_game(state_env):
    state_env.reset(seed=0)
    undisturbed = [state_env.step(0)[0] for _ in range(20)]
    state_env.reset(seed=0)
    state_env.browser.evaluate("window.dispatchEvent(new Event('resize')), 1")
    time.sleep(0.4)  # the game answers a resize on a real-time 250 ms timer
    disturbed = [state_env.step(0)[0] for _ in range(20)]
    np.testing.assert_array_equal(undisturbed, disturbed)


@pytest.mark.dino
@pytest.mark.skipif(
    not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")),
    reason="needs a display (e.g. run under xvfb-run)",
)
def test_a_visible_window_plays_the_same_frames_as_headless():
    shown = ChromeDinoEnv(render_mode="human", obs_type="grayscale", frame_skip=8)
    hidden = ChromeDinoEnv(obs_type="grayscale", frame_skip=8)
    try:
        assert "human" in shown.metadata["render_modes"] and shown.render() is None
        a, _ = shown.reset(seed=2)
        b, _ = hidden.reset(seed=2)
        np.testing.assert_array_equal(a, b)
        for _ in range(10):
            np.testing.assert_array_equal(shown.step(0)[0], hidden.step(0)[0])
    finally:
        shown.close()
        hidden.close()
