"""The training loop: one Trainer for every agent and env, seeded, with its run directory."""

from __future__ import annotations

import csv
import json
import re

import pytest
import torch

import rlgames
from markdown_code import ROOT, python_blocks, run_python_blocks
from rlgames.training import Trainer, load_agent

# Small and fast: CartPole with a short warm-up and frequent, small training rounds.
FAST = dict(
    progress=False,
    tensorboard=False,
    learning_starts=200,
    train_freq=16,
    gradient_steps=4,
    batch_size=32,
    hidden=(32, 32),
    log_every=250,
    plot_every=0,
    torch_threads=1,
)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def outcomes(path):
    """episodes.csv rows without their wall-clock column, which no two runs share."""
    return [{k: v for k, v in r.items() if k != "time_s"} for r in rows(path)]


def test_train_writes_config_logs_curves_and_checkpoint(tmp_path):
    settings = {**FAST, "plot_every": 400}
    trainer = rlgames.train("CartPole-v1", steps=600, seed=0, out=tmp_path, **settings)
    assert trainer.step == 600
    for name in ("config.json", "metrics.csv", "episodes.csv", "curves.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "checkpoints" / "latest.ckpt").exists()
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["env_id"] == "CartPole-v1" and config["total_steps"] == 600
    assert config["train"]["learning_starts"] == 200 and config["agent_config"]["batch_size"] == 32
    assert int(rows(tmp_path / "episodes.csv")[-1]["episode"]) == trainer.episodes


def test_same_seed_gives_identical_runs(tmp_path):
    a = rlgames.train("CartPole-v1", steps=500, seed=7, out=tmp_path / "a", **FAST)
    b = rlgames.train("CartPole-v1", steps=500, seed=7, out=tmp_path / "b", **FAST)
    sa, sb = a.agent.state_dict(), b.agent.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert outcomes(tmp_path / "a" / "episodes.csv") == outcomes(tmp_path / "b" / "episodes.csv")


def test_different_seeds_give_different_runs(tmp_path):
    rlgames.train("CartPole-v1", steps=400, seed=1, out=tmp_path / "a", **FAST)
    rlgames.train("CartPole-v1", steps=400, seed=2, out=tmp_path / "b", **FAST)
    assert outcomes(tmp_path / "a" / "episodes.csv") != outcomes(tmp_path / "b" / "episodes.csv")


def test_no_gradient_step_before_learning_starts_then_one_round_per_train_freq(tmp_path):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, **FAST)
    trainer.train(200)
    assert trainer.updates == 0
    trainer.train(160)  # 10 rounds of train_freq 16, 4 gradient steps each
    assert trainer.updates == 40 == trainer.agent.updates
    trainer.close()


def test_vector_envs_count_steps_over_all_sub_envs(tmp_path):
    trainer = rlgames.train("CartPole-v1", steps=600, seed=0, out=tmp_path, n_envs=3, **FAST)
    assert trainer.step == 600
    assert len(trainer.replay) == 600
    assert {r["env"] for r in rows(tmp_path / "episodes.csv")} == {"0", "1", "2"}


def test_episode_returns_and_lengths_are_logged_per_episode(tmp_path):
    rlgames.train("CartPole-v1", steps=400, seed=0, out=tmp_path, **FAST)
    episodes = rows(tmp_path / "episodes.csv")
    assert episodes, "CartPole episodes under random actions last ~20 steps"
    for row in episodes:  # CartPole pays 1 per step
        assert float(row["return"]) == float(row["length"])
    assert int(episodes[-1]["step"]) <= 400


def test_callback_returning_false_stops_training(tmp_path):
    seen = []

    def stop_at_100(trainer):
        seen.append(trainer.step)
        return trainer.step < 100

    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, callbacks=[stop_at_100], **FAST)
    trainer.train(1000)
    trainer.close()
    assert trainer.step == 100 and seen == list(range(1, 101))
    assert (tmp_path / "checkpoints" / "latest.ckpt").exists()


def test_periodic_greedy_evaluation_is_logged_and_best_weights_saved(tmp_path):
    trainer = rlgames.train(
        "CartPole-v1", steps=600, seed=0, out=tmp_path, eval_every=300, eval_episodes=2, **FAST
    )
    evals = rows(tmp_path / "evals.csv")
    assert [int(r["step"]) for r in evals] == [300, 600]
    assert trainer.last_eval["mean"] == float(evals[-1]["mean"])
    assert (tmp_path / "checkpoints" / "best.ckpt").exists()


def test_snapshots_keep_the_policy_of_their_step(tmp_path):
    trainer = rlgames.train(
        "CartPole-v1", steps=600, seed=0, out=tmp_path, snapshot_every=250, **FAST
    )
    trainer.close()
    ckpts = tmp_path / "checkpoints"
    assert sorted(p.name for p in ckpts.glob("step-*.ckpt")) == ["step-250.ckpt", "step-500.ckpt"]
    (early, env, meta), (late, env2, _) = (load_agent(ckpts / f"step-{n}.ckpt") for n in (250, 500))
    env.close(), env2.close()
    assert meta["step"] == 250
    early, late = early.online.state_dict(), late.online.state_dict()
    assert any(not torch.equal(early[k], late[k]) for k in early)  # learning went on between


def test_epsilon_falls_linearly_then_stays(tmp_path):
    trainer = Trainer(
        "CartPole-v1", out=tmp_path, seed=0, epsilon_start=1.0, epsilon_end=0.1,
        epsilon_decay_steps=1000, **FAST,
    )  # fmt: skip
    assert trainer.epsilon(0) == 1.0
    assert trainer.epsilon(500) == pytest.approx(0.55)
    assert trainer.epsilon(1000) == pytest.approx(0.1) == trainer.epsilon(5000)
    trainer.close()


def test_exponential_epsilon_is_the_mario_tutorials_per_step_factor(tmp_path):
    trainer = Trainer(
        "CartPole-v1", out=tmp_path, seed=0, epsilon_schedule="exponential", epsilon_start=1.0,
        epsilon_end=0.1, epsilon_decay_steps=9_210_340, **FAST,
    )  # fmt: skip
    for step in (0, 1, 1000, 700_000, 5_000_000):
        assert trainer.epsilon(step) == pytest.approx(0.99999975**step, rel=1e-6)
    assert trainer.epsilon(9_210_340) == trainer.epsilon(20_000_000) == 0.1
    trainer.close()


def test_max_minutes_stops_the_run_by_its_own_clock_and_checkpoints(tmp_path):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, max_minutes=0.5 / 60, **FAST)
    trainer.train(10_000_000)
    trainer.close()
    elapsed = trainer.logger.elapsed_s
    assert 0 < trainer.step < 10_000_000 and 0.5 <= elapsed < 30
    resumed = Trainer.resume(tmp_path)  # the limit counts resumed sessions too: none is left
    resumed.train()
    resumed.close()
    assert resumed.step == trainer.step + 1  # one step, then the clock is checked


def test_learning_rate_anneals_linearly_over_lr_decay_steps(tmp_path):
    trainer = Trainer(
        "CartPole-v1", out=tmp_path, seed=0, lr=1e-3, lr_end=0.0, lr_decay_steps=1000, **FAST
    )
    trainer.train(500)  # the last training round runs at step 496 (train_freq 16)
    trainer.close()
    assert trainer.agent.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3 * (1 - 0.496))


def test_per_env_defaults_apply_and_overrides_win(tmp_path):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, progress=False, train_freq=8)
    assert trainer.config.train_freq == 8  # override
    assert trainer.config.gradient_steps == 128  # CartPole row of DEFAULTS
    assert trainer.agent.config.lr == pytest.approx(2.3e-3)
    trainer.close()


def test_unknown_setting_is_refused_with_the_known_names(tmp_path):
    with pytest.raises(TypeError, match="learning_starts"):
        Trainer("CartPole-v1", out=tmp_path, learning_start=5)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"train_freq": 0}, "TrainConfig.train_freq must be >= 1, got 0"),
        ({"train_freq": "4"}, "TrainConfig.train_freq must be an integer, got '4'"),
        ({"n_envs": True}, "TrainConfig.n_envs must be an integer, got True"),
        ({"epsilon_end": 1.5}, "TrainConfig.epsilon_end must be between 0.0 and 1.0"),
        ({"vectorization_mode": "threads"}, "must be one of None, 'sync', 'async'"),
        ({"env_kwargs": [1]}, "TrainConfig.env_kwargs must be a table"),
        ({"lr": "fast"}, "AgentConfig.lr must be a finite number, got 'fast'"),
        ({"lr": 0.0}, "AgentConfig.lr must be above 0"),
        ({"batch_size": 0}, "AgentConfig.batch_size must be >= 1, got 0"),
        ({"hidden": 64}, "AgentConfig.hidden must be a list of integers, got 64"),
        ({"gamma": 1.5}, "AgentConfig.gamma must be between 0.0 and 1.0"),
        ({"loss": "l1"}, "AgentConfig.loss must be one of 'huber', 'mse'"),
        ({"lr": float("nan")}, "AgentConfig.lr must be a finite number, got nan"),
        ({"epsilon_end": float("inf")}, "TrainConfig.epsilon_end must be a finite number"),
        ({"batch_size": 4.5}, "AgentConfig.batch_size must be an integer, got 4.5"),
        ({"epsilon_schedule": "cosine"}, "must be one of 'linear', 'exponential'"),
        (
            {"epsilon_schedule": "exponential", "epsilon_end": 0.0},
            "TrainConfig.epsilon_end must be > 0 with epsilon_schedule",
        ),
        ({"max_minutes": -1.0}, "TrainConfig.max_minutes must be >= 0.0"),
    ],
)
def test_bad_settings_are_refused_by_name_before_anything_is_written(tmp_path, settings, message):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=re.escape(message)):
        Trainer("CartPole-v1", out=out, **{**FAST, **settings})
    assert not out.exists()


def test_settings_from_json_or_numpy_take_their_fields_types():
    import numpy as np

    from rlgames.agents import AgentConfig
    from rlgames.config import TrainConfig

    config = TrainConfig(buffer_size=np.int64(500), checkpoint_minutes=1, train_freq=4.0)
    assert type(config.buffer_size) is int and type(config.checkpoint_minutes) is float
    assert config.train_freq == 4 and type(config.train_freq) is int
    assert type(AgentConfig(lr_end=0, lr_decay_steps=10.0).lr_end) is float
    assert AgentConfig(hidden=[64, np.int64(32)]).hidden == (64, 32)
    agent = AgentConfig(hidden=np.array([8, 8]), double=np.bool_(True), device=torch.device("cpu"))
    assert agent.hidden == (8, 8) and agent.double is True and agent.device == "cpu"


def test_learning_waits_until_the_replay_holds_a_full_n_step_transition(tmp_path):
    # 16 steps over 8 envs is 2 per env: fewer than n_step, so nothing can be sampled yet
    settings = {**FAST, "learning_starts": 16, "train_freq": 8, "n_step": 3}
    trainer = rlgames.train("CartPole-v1", steps=64, seed=0, out=tmp_path, n_envs=8, **settings)
    assert 0 < trainer.updates < (64 - 16) // 8 * 4 + 4
    trainer.close()


@pytest.mark.parametrize("stack", [1, 2])
def test_colour_pixel_stacks_train_with_one_stored_frame_per_step(tmp_path, stack):
    settings = {**FAST, "learning_starts": 40, "train_freq": 8, "batch_size": 8}
    env_kwargs = {"size": 40, "stack": stack}  # CartPole's rendered RGB frames
    trainer = rlgames.train("CartPole-v1", steps=64, seed=0, out=tmp_path, env_kwargs=env_kwargs,
                            **settings)  # fmt: skip
    assert trainer.envs.single_observation_space.shape == (3 * stack, 40, 40)
    assert trainer.replay.frame_stack == stack and trainer.replay.frame_shape == (3, 40, 40)
    assert trainer.updates > 0
    trainer.close()


def test_existing_run_directory_is_not_overwritten(tmp_path):
    rlgames.train("CartPole-v1", steps=50, seed=0, out=tmp_path, **FAST)
    with pytest.raises(FileExistsError, match="resume"):
        Trainer("CartPole-v1", out=tmp_path, seed=0, **FAST)


@pytest.mark.parametrize("agent", ["ddqn", "dueling"])
def test_every_agent_trains_on_the_same_loop(tmp_path, agent):
    trainer = rlgames.train("CartPole-v1", agent=agent, steps=300, seed=0, out=tmp_path, **FAST)
    assert trainer.agent.name == agent and trainer.updates > 0


@pytest.mark.atari
def test_breakout_pixels_train_through_the_same_loop(tmp_path):
    pytest.importorskip("ale_py")
    trainer = rlgames.train(
        "ALE/Breakout-v5", steps=120, seed=0, out=tmp_path, progress=False, tensorboard=False,
        buffer_size=1000, learning_starts=64, train_freq=4, batch_size=8, plot_every=0,
    )  # fmt: skip
    assert trainer.envs.single_observation_space.shape == (4, 84, 84)
    assert trainer.updates == (120 - 64) // 4 + 1
    assert trainer.replay.bytes_per_transition < 7_100


def test_training_docs_walkthrough_runs_as_written(tmp_path, monkeypatch):
    doc = ROOT / "docs" / "training.md"
    assert len(python_blocks(doc)) >= 4
    monkeypatch.chdir(tmp_path)
    namespace = run_python_blocks(doc)
    assert (tmp_path / "runs" / "cartpole-walkthrough" / "my-returns.png").exists()
    assert namespace["meta"]["step"] == 7_000


@pytest.mark.dino
def test_chrome_dino_trains_and_resumes_through_the_same_loop(tmp_path):
    settings = dict(
        progress=False, tensorboard=False, buffer_size=2000, learning_starts=100, batch_size=8,
        plot_every=0,
    )  # fmt: skip
    trainer = rlgames.train("ChromeDino-v0", steps=150, seed=0, out=tmp_path, **settings)
    assert trainer.envs.single_observation_space.shape == (4, 42, 160)  # the env's defaults row
    assert trainer.updates == (150 - 100) // 4 + 1
    episodes = rows(tmp_path / "episodes.csv")  # random play: short games, each with its score
    # the score where the game ended (no obstacle comes in the first 45 steps: at least 27)
    assert episodes and all(float(r["score"]) >= 27 for r in episodes)
    by_length = sorted(episodes, key=lambda r: int(r["length"]))
    assert float(by_length[0]["score"]) <= float(by_length[-1]["score"])
    resumed = Trainer.resume(tmp_path)  # the browser's game state is not restorable:
    try:  # the resumed run starts a new, seeded episode and goes on learning
        resumed.train(40)
    finally:
        resumed.close()
    assert resumed.step == 190 and resumed.updates == trainer.updates + 10


def test_games_without_their_own_defaults_row_take_their_familys():
    from rlgames.training.defaults import DEFAULTS, env_defaults

    assert env_defaults("SuperMarioBros-3-2-v0") == DEFAULTS["mario"]
    assert env_defaults("SuperMarioBros-1-1-v0") == DEFAULTS["mario"]
    assert env_defaults("ALE/Pong-v5") == env_defaults("ALE/SpaceInvaders-v5") == DEFAULTS["atari"]
    assert env_defaults("ALE/Breakout-v5") == DEFAULTS["ALE/Breakout-v5"] != DEFAULTS["atari"]
    assert env_defaults("Acrobot-v1") == {}


def test_the_mario_tutorial_config_plays_the_tutorials_actions_over_the_rows():
    # env_kwargs from a config file merge over the row's, so the tutorial's file must name
    # its two actions itself, or it would train on the row's running ones.
    from rlgames.config import load_config_file, merge_env_kwargs
    from rlgames.training.defaults import DEFAULTS

    row = DEFAULTS["mario"]["env_kwargs"]
    tutorial = load_config_file(ROOT / "examples" / "configs" / "mario_tutorial.toml")
    merged = merge_env_kwargs(row, tutorial["env_kwargs"])
    assert row["actions"] == [["right", "B"], ["right", "A", "B"]]
    assert merged == {"size": 84, "max_episode_steps": 0, "actions": "right_only"}


@pytest.mark.dino
def test_env_kwargs_given_are_merged_into_the_envs_row(tmp_path):
    trainer = Trainer(
        "ChromeDino-v0", "dqn", out=tmp_path, env_kwargs={"obs_type": "state", "size": None}
    )
    try:
        assert trainer.config.env_kwargs == {"obs_type": "state", "max_episode_steps": 6000}
        assert trainer.envs.single_observation_space.shape == (15,)
    finally:
        trainer.close()
