"""Greedy evaluation with game scores, exported policies and the shipped-agent lookup."""

from __future__ import annotations

import shutil
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlgames
from rlgames.agents import make_agent
from rlgames.training import Trainer
from rlgames.training.checkpoint import CheckpointError
from rlgames.training.evaluation import (
    evaluate,
    evaluate_episodes,
    export_policy,
    load_agent,
    play_episode,
    pretrained_path,
    resolve_checkpoint,
)


class ScoreEnv(gym.Env):
    """Lasts `seed + 2` steps; info["score"] is 10 per step survived."""

    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.left, self.t = (seed or 0) + 2, 0
        return np.zeros(2, np.float32), {"score": 0}

    def step(self, action: Any):
        self.t += 1
        done = self.t >= self.left
        return np.zeros(2, np.float32), 1.0, done, False, {"score": 10 * self.t}


class Greedy:
    def __init__(self) -> None:
        self.epsilons: list[float] = []

    def act(self, obs: Any, epsilon: float = 0.0) -> int:
        self.epsilons.append(epsilon)
        return 0


def test_episodes_report_seed_return_length_and_the_games_own_score():
    agent, seen = Greedy(), []
    result = evaluate_episodes(
        agent, ScoreEnv(), 3, [0, 5, 1], callback=lambda i, r: seen.append(i)
    )
    assert result["seed"].tolist() == [0, 5, 1]
    assert result["length"].tolist() == [2, 7, 3] and result["return"].tolist() == [2, 7, 3]
    assert result["score"].tolist() == [20, 70, 30]
    assert seen == [0, 1, 2] and set(agent.epsilons) == {0.0}  # greedy throughout
    assert evaluate(agent, ScoreEnv(), 2, [0, 1]).tolist() == [2.0, 3.0]


@pytest.mark.parametrize(
    ("episodes", "seeds", "message"),
    [
        (3, [1], "3 episodes need as many seeds; got 1"),
        (0, [1], "episodes must be a positive integer"),
        (2, 5, "seeds must be an iterable of ints"),
        (1, [1.7], "seeds must be integers"),
    ],
)
def test_evaluate_refuses_episodes_it_could_not_play_as_asked(episodes, seeds, message):
    agent = make_agent("dqn", ScoreEnv.observation_space, ScoreEnv.action_space, device="cpu")
    with pytest.raises(ValueError, match=message):
        evaluate(agent, ScoreEnv(), episodes, seeds)


def test_a_checkpoint_without_run_meta_is_refused_as_not_from_a_run(tmp_path):
    from rlgames.training.checkpoint import save_parts

    path = save_parts(tmp_path / "bare.ckpt", {}, {"env_id": "CartPole-v1"})
    with pytest.raises(CheckpointError, match="meta has no 'train_config': it was not written"):
        load_agent(path)


def test_games_without_a_score_report_none():
    result = evaluate_episodes(Greedy(), gym.make("CartPole-v1"), 2, [0, 1])
    assert "score" not in result and len(result["return"]) == 2


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "run"
    settings = dict(progress=False, tensorboard=False, learning_starts=100, plot_every=0)
    rlgames.train("CartPole-v1", steps=400, seed=0, out=out, torch_threads=1, **settings)
    return out


def test_an_exported_policy_is_small_and_acts_exactly_as_its_run(cartpole_run, tmp_path):
    policy = export_policy(cartpole_run, tmp_path / "policy.ckpt", source="test run")
    latest = resolve_checkpoint(cartpole_run)
    assert policy.stat().st_size < latest.stat().st_size / 4  # no replay, target or Adam
    full, env_a, _ = load_agent(cartpole_run)
    small, env_b, meta = load_agent(policy)
    env_a.close(), env_b.close()
    assert meta["export"] == {"policy_only": True, "source": "test run"}
    obs = torch.randn(64, 4).numpy()
    assert torch.equal(torch.as_tensor(full.q_values(obs)), torch.as_tensor(small.q_values(obs)))


def test_a_half_precision_export_is_half_the_size_and_acts_nearly_alike(cartpole_run, tmp_path):
    full = export_policy(cartpole_run, tmp_path / "full.ckpt")
    half = export_policy(cartpole_run, tmp_path / "half.ckpt", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    (a, env_a, _), (b, env_b, meta) = load_agent(full), load_agent(half)
    env_a.close(), env_b.close()
    assert meta["export"] == {"policy_only": True, "dtype": "float16"}
    assert all(p.dtype == torch.float32 for p in b.online.parameters())  # computes in fp32
    obs = torch.randn(256, 4).numpy()
    qa, qb = np.asarray(a.q_values(obs)), np.asarray(b.q_values(obs))
    assert not np.array_equal(qa, qb) and np.allclose(qa, qb, rtol=1e-2, atol=1e-2)
    assert (qa.argmax(1) == qb.argmax(1)).mean() > 0.9


def test_a_checkpoint_trained_on_a_gpu_loads_on_the_device_asked_for(cartpole_run, tmp_path):
    from rlgames.training.checkpoint import load_checkpoint, save_checkpoint

    tensors, arrays, meta = load_checkpoint(resolve_checkpoint(cartpole_run))
    meta["agent_config"]["device"] = "cuda"  # as a run on a GPU machine records it
    moved = save_checkpoint(tmp_path / "gpu.ckpt", tensors, arrays, meta)
    agent, env, _ = load_agent(moved, device="cpu")
    env.close()
    assert agent.device == torch.device("cpu")
    reference, env, _ = load_agent(cartpole_run, device="cpu")
    env.close()
    obs = torch.randn(16, 4).numpy()
    assert np.array_equal(agent.q_values(obs), reference.q_values(obs))


def test_an_exported_policy_cannot_be_resumed(cartpole_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(cartpole_run, run)
    export_policy(cartpole_run, run / "checkpoints" / "latest.ckpt")
    with pytest.raises(CheckpointError, match="exported policy"):
        Trainer.resume(run)


def test_unknown_pretrained_names_list_the_shipped_ones():
    with pytest.raises(ValueError, match="shipped: ALE/Breakout-v5, ChromeDino-v0"):
        pretrained_path("CartPole-v1")
    with pytest.raises(ValueError, match="no pretrained agent 'ChromeDino-v0:nope'"):
        resolve_checkpoint("pretrained:nope")


def _score_envs(n: int, **kwargs: Any) -> gym.vector.VectorEnv:
    return gym.vector.SyncVectorEnv(
        [ScoreEnv] * n, autoreset_mode=gym.vector.AutoresetMode.DISABLED, **kwargs
    )


class BatchGreedy(Greedy):
    def act(self, obs: Any, epsilon: float = 0.0) -> np.ndarray:
        self.epsilons.append(epsilon)
        return np.zeros(len(obs), dtype=np.int64)


def test_a_vector_env_plays_several_episodes_at_once_and_reports_them_in_seed_order():
    seen: list[int] = []
    seeds = [6, 0, 3, 1, 2]
    result = evaluate_episodes(
        BatchGreedy(), _score_envs(2), 5, seeds, callback=lambda i, r: seen.append(i)
    )
    one_by_one = evaluate_episodes(Greedy(), ScoreEnv(), 5, seeds)
    for key in ("seed", "return", "length", "score"):
        assert result[key].tolist() == one_by_one[key].tolist()
    assert sorted(seen) == [0, 1, 2, 3, 4] and seen != [0, 1, 2, 3, 4]  # as each ended


def test_max_score_stops_an_episode_and_counts_exactly_the_stop():
    # ScoreEnv scores 10 a step and lasts seed + 2 steps: seed 6 would reach 80.
    result = evaluate_episodes(BatchGreedy(), _score_envs(2), 3, [6, 0, 3], max_score=45)
    assert result["score"].tolist() == [45, 20, 45]
    assert result["stopped"].tolist() == [1, 0, 1]
    assert result["length"].tolist() == [5, 2, 5]  # stopped on the step that reached 45
    # A game without a score of its own is stopped on its return.
    cartpole = evaluate_episodes(Greedy(), gym.make("CartPole-v1"), 2, [0, 1], max_score=3)
    assert cartpole["return"].tolist() == [3, 3] and cartpole["stopped"].tolist() == [1, 1]


def test_batched_greedy_play_of_a_real_agent_matches_one_env_at_a_time(cartpole_run):
    agent, env, _ = load_agent(cartpole_run, device="cpu")
    single = evaluate_episodes(agent, env, 4, range(10, 14))
    env.close()
    agent, envs, _ = load_agent(cartpole_run, device="cpu", n_envs=3)
    assert isinstance(envs, gym.vector.VectorEnv)
    batched = evaluate_episodes(agent, envs, 4, range(10, 14))
    envs.close()
    assert batched["return"].tolist() == single["return"].tolist()


@pytest.mark.parametrize(
    ("envs", "episodes", "message"),
    [
        (lambda: gym.vector.SyncVectorEnv([ScoreEnv] * 2), 4, "without autoreset"),
        (lambda: _score_envs(3), 2, "2 episodes on a vector env of 3 sub-envs"),
    ],
)
def test_a_vector_env_that_cannot_play_the_episodes_as_asked_is_refused(envs, episodes, message):
    with pytest.raises(ValueError, match=message):
        evaluate_episodes(BatchGreedy(), envs(), episodes, range(episodes))


def test_max_score_must_be_positive():
    with pytest.raises(ValueError, match="max_score must be a positive number"):
        evaluate_episodes(Greedy(), ScoreEnv(), 1, [0], max_score=0)


class ActionEnv(ScoreEnv):
    """ScoreEnv lasting `seed + 20` steps whose reward is the action taken."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        self.left += 18
        return obs, info

    def step(self, action: Any):
        obs, _, done, truncated, info = super().step(action)
        return obs, float(action), done, truncated, info


def test_epsilon_plays_random_actions_each_episode_its_own_on_one_env_or_a_batch():
    seeds = [0, 40, 7, 3, 12]
    greedy = evaluate_episodes(Greedy(), ActionEnv(), 5, seeds)
    assert greedy["return"].tolist() == [0.0] * 5  # Greedy always plays action 0
    one = evaluate_episodes(Greedy(), ActionEnv(), 5, seeds, epsilon=0.5)
    envs = gym.vector.SyncVectorEnv(
        [ActionEnv] * 2, autoreset_mode=gym.vector.AutoresetMode.DISABLED
    )
    batch = evaluate_episodes(BatchGreedy(), envs, 5, seeds, epsilon=0.5)
    assert batch["return"].tolist() == one["return"].tolist()
    # Half the actions random, half of those 1: about a quarter of each episode's steps.
    assert 0 < one["return"].sum() < one["length"].sum() / 2
    assert len(set(one["return"] / one["length"])) > 1  # each episode its own draws


def test_play_episode_with_epsilon_plays_the_evaluations_episode_of_that_seed():
    result = evaluate_episodes(Greedy(), ActionEnv(), 3, [5, 9, 2], epsilon=0.3)
    played = [play_episode(Greedy(), ActionEnv(), seed, epsilon=0.3)[0] for seed in (5, 9, 2)]
    assert played == result["return"].tolist() and sum(played) > 0


def test_epsilon_must_be_a_probability_of_a_discrete_action_space():
    with pytest.raises(ValueError, match="epsilon must be between 0 and 1"):
        evaluate_episodes(Greedy(), ScoreEnv(), 1, [0], epsilon=1.5)
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        evaluate_episodes(Greedy(), gym.make("Pendulum-v1"), 1, [0], epsilon=0.1)
    with pytest.raises(ValueError, match="needs a Discrete action space"):
        play_episode(Greedy(), gym.make("Pendulum-v1"), 0, epsilon=0.1)


def test_random_actions_respect_a_discrete_spaces_start():
    class Shifted(ActionEnv):
        action_space = spaces.Discrete(2, start=5)

    result = evaluate_episodes(Greedy(), Shifted(), 3, [0, 1, 2], epsilon=1.0)
    # Every action random, each 5 or 6: returns between 5 and 6 a step.
    assert all(5 <= r / n <= 6 for r, n in zip(result["return"], result["length"]))
    assert result["return"].sum() > 5 * result["length"].sum()


class FlagEnv(ScoreEnv):
    """ScoreEnv that also reports Mario's x_pos (5 a step) and flag_get (on odd seeds)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.flag = bool((seed or 0) % 2)
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "x_pos": 0, "flag_get": False}

    def step(self, action: Any):
        obs, reward, done, truncated, info = super().step(action)
        info.update(x_pos=5 * self.t, flag_get=done and self.flag)
        return obs, reward, done, truncated, info


def test_x_pos_and_flag_get_are_reported_at_the_episodes_end_by_one_env_or_a_batch():
    seeds = [1, 2, 3]
    one = evaluate_episodes(Greedy(), FlagEnv(), 3, seeds)
    envs = gym.vector.SyncVectorEnv([FlagEnv] * 2, autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    batch = evaluate_episodes(BatchGreedy(), envs, 3, seeds)
    for result in (one, batch):
        assert result["x_pos"].tolist() == [15.0, 20.0, 25.0]  # 5 a step, seed + 2 steps
        assert result["flag_get"].tolist() == [1.0, 0.0, 1.0]
    assert "x_pos" not in evaluate_episodes(Greedy(), ScoreEnv(), 1, [0])  # where none is
