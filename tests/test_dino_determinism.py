"""The virtual clock and seeded Math.random make ChromeDino-v0 replay exactly.

The long test uses the seeds' simplified rules (acceleration and birds off, constant speed 6)
and a fixed pixel policy that jumps when a cactus enters a window in front of the dino: it
survives 2,000 steps (8,000 frames) on these seeds, so the whole run is one episode.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

pytest.importorskip("selenium")
pytest.importorskip("websocket")

from rlgames.envs.dino import ChromeDinoEnv  # noqa: E402

pytestmark = pytest.mark.dino
STEPS = 2000


class JumpOverCacti:
    """Hold jump for 6 steps when dark pixels appear ahead of the dino (84x84 grayscale)."""

    def __init__(self) -> None:
        self.held = 0

    def __call__(self, obs: np.ndarray) -> int:
        if self.held == 0 and (obs[55:68, 16:24] < 160).any():
            self.held = 6
        self.held = max(0, self.held - 1)
        return 1 if self.held > 0 else 0


def play(env: ChromeDinoEnv, seed: int, steps: int) -> dict:
    """One episode from reset(seed): a digest of every frame, the rewards, scores and actions."""
    obs, info = env.reset(seed=seed)
    policy = JumpOverCacti()
    digest = hashlib.sha256(obs.tobytes())
    rewards, scores, actions, terminated = [], [info["score"]], [], False
    for _ in range(steps):
        action = policy(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        digest.update(obs.tobytes())
        actions.append(action)
        rewards.append(reward)
        scores.append(info["score"])
        if terminated or truncated:
            break
    return {
        "frames": digest.hexdigest(),
        "rewards": rewards,
        "scores": scores,
        "actions": actions,
        "terminated": terminated,
    }


@pytest.fixture(scope="module")
def envs():
    pair = [ChromeDinoEnv(obs_type="grayscale", acceleration=False, birds=False) for _ in "ab"]
    yield pair
    for env in pair:
        env.close()


def test_same_seed_and_actions_repeat_a_2000_step_episode_exactly(envs):
    first, second = envs
    a = play(first, seed=7, steps=STEPS)
    assert not a["terminated"] and len(a["rewards"]) == STEPS  # one unbroken episode
    assert a["actions"].count(1) > 50  # it jumped over many cacti on the way
    b = play(second, seed=7, steps=STEPS)  # another browser
    assert b == a
    c = play(first, seed=7, steps=STEPS)  # the same browser after a whole episode
    assert c == a


def test_different_seeds_give_different_obstacle_sequences():
    env = ChromeDinoEnv(obs_type="state", acceleration=False, birds=False)
    try:
        sequences = [obstacle_sequence(env, seed) for seed in (1, 2, 1)]
    finally:
        env.close()
    assert len(sequences[0]) >= 8
    assert sequences[0] == sequences[2]
    assert sequences[0] != sequences[1]


def obstacle_sequence(env: ChromeDinoEnv, seed: int, steps: int = 600) -> list:
    """(type, width) of each obstacle met in turn, jumping when one comes near (state obs)."""
    obs, _ = env.reset(seed=seed)
    seen, previous_x = [], None
    for _ in range(steps):
        kind, x, _, width, _ = obs[5:10]
        if kind > 0 and (previous_x is None or x > previous_x):  # a new obstacle is next
            seen.append((round(float(kind), 3), round(float(width), 3)))
        previous_x = x if kind > 0 else None
        obs, _, terminated, _, _ = env.step(1 if kind > 0 and x < 0.15 else 0)
        if terminated:
            break
    return seen


def test_reset_with_a_seed_repeats_its_first_frame_after_any_history(envs):
    env = envs[0]
    first, _ = env.reset(seed=3)
    for _ in range(30):
        env.step(1)
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, again)
