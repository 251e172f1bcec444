"""Resume: a run stopped, checkpointed and continued in a fresh process ends bit-identical."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import rlgames
from rlgames.training import Trainer, load_agent
from rlgames.training.checkpoint import CheckpointError, load_checkpoint

# Settings of the CLI runs: small, single-threaded, deterministic.
OPTIONS = [
    "--learning-starts", "200", "--train-freq", "16", "--gradient-steps", "4",
    "--batch-size", "32", "--hidden", "32", "32", "--log-every", "250", "--plot-every", "0",
    "--torch-threads", "1", "--no-progress", "--no-tensorboard", "--eval-every", "500",
    "--eval-episodes", "2",
]  # fmt: skip


def cli(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "rlgames.cli", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def outcomes(path, clocks=("time_s",)):
    """A log's rows without their wall-clock columns, which no two runs share."""
    return [{k: v for k, v in r.items() if k not in clocks} for r in rows(path)]


RUNS = {
    "ddqn": ["--agent", "ddqn"],
    "prioritized": ["--agent", "ddqn", "--prioritized"],
    # Rainbow (C51, noisy layers, prioritized 3-step replay) on rendered pixel stacks, whose
    # frames the replay stores compressed.
    "rainbow-compressed-pixels": [
        "--agent", "rainbow", "--env-kwargs", '{"size": 40, "gray": true, "stack": 2}',
    ],
}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(RUNS))
def straight_and_resumed(request, tmp_path_factory):
    """The same 1,600-step run: straight through, and 800 + resume in a new process + 800."""
    root = tmp_path_factory.mktemp("resume")
    base = ["train", "--env", "CartPole-v1", "--seed", "5", *RUNS[request.param], *OPTIONS]
    cli(*base, "--steps", "1600", "--out", str(root / "straight"))
    cli(*base, "--steps", "800", "--out", str(root / "halves"))
    cli("train", "--resume", str(root / "halves"), "--steps", "1600")
    return root / "straight", root / "halves"


def test_resumed_run_ends_with_bit_identical_weights_optimizer_and_replay(straight_and_resumed):
    straight, resumed = (
        load_checkpoint(d / "checkpoints" / "latest.ckpt") for d in straight_and_resumed
    )
    tensors_a, arrays_a, meta_a = straight
    tensors_b, arrays_b, meta_b = resumed
    assert meta_a["step"] == meta_b["step"] == 1600
    assert tensors_a.keys() == tensors_b.keys()
    for name in tensors_a:  # online, target, Adam moments, counters, RNG states
        assert torch.equal(tensors_a[name], tensors_b[name]), name
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:  # replay contents and cursor, env states, current observations
        np.testing.assert_array_equal(arrays_a[name], arrays_b[name], err_msg=name)
    if meta_a["agent_config"]["prioritized"]:
        assert "replay.priorities" in arrays_a
    if meta_a["train_config"]["env_kwargs"]:  # pixel frames, stored compressed as they are
        assert "replay.frame_bytes" in arrays_a and "replay.frames" not in arrays_a
    # Counters, every generator (the loop's, Python's, numpy's, each sub-env's), the envs'
    # in-episode state and the log positions: all but the wall-clock seconds.
    timeless = lambda state: {k: v for k, v in state.items() if k != "logger.elapsed_s"}  # noqa: E731
    assert timeless(meta_a["state"]) == timeless(meta_b["state"])
    assert meta_a["state"]["run.episodes"] > 0 and "run.rng" in meta_a["state"]


def test_resumed_logs_continue_without_duplicates(straight_and_resumed):
    straight, resumed = straight_and_resumed
    assert outcomes(straight / "episodes.csv") == outcomes(resumed / "episodes.csv")
    assert outcomes(straight / "evals.csv", ("time_s", "eval_s")) == outcomes(
        resumed / "evals.csv", ("time_s", "eval_s")
    )
    timeless = [
        {k: v for k, v in r.items() if k not in ("time_s", "steps_per_s")}
        for r in rows(straight / "metrics.csv")
    ]
    resumed_rows = [
        {k: v for k, v in r.items() if k not in ("time_s", "steps_per_s")}
        for r in rows(resumed / "metrics.csv")
    ]
    assert timeless == resumed_rows
    assert [int(r["step"]) for r in resumed_rows] == [250, 500, 750, 1000, 1250, 1500]


FAST = dict(
    progress=False, tensorboard=False, learning_starts=100, train_freq=16, gradient_steps=2,
    batch_size=16, hidden=(16,), log_every=100, plot_every=0,
)  # fmt: skip


def test_rows_logged_after_the_checkpoint_are_dropped_on_resume(tmp_path):
    rlgames.train("CartPole-v1", steps=300, seed=0, out=tmp_path, **FAST)
    kept = rows(tmp_path / "episodes.csv")
    with open(tmp_path / "episodes.csv", "a") as f:  # as if the process died after more episodes
        f.write("999,999,0,1.0,1\n")
    trainer = Trainer.resume(tmp_path)
    assert rows(tmp_path / "episodes.csv") == kept
    trainer.train(100)
    trainer.close()
    steps = [int(r["step"]) for r in rows(tmp_path / "episodes.csv")]
    assert steps == sorted(steps) and max(steps) <= 400


def test_resume_continues_to_the_total_recorded_in_the_run(tmp_path):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, **FAST)
    trainer.train(200)  # the run's total becomes 200
    trainer.close()
    resumed = Trainer.resume(tmp_path)
    assert resumed.step == 200 and resumed.total_steps == 200
    resumed.train(150)
    resumed.close()
    assert resumed.step == 350


def test_checkpoint_of_another_env_is_refused_with_one_clear_error(tmp_path):
    rlgames.train("CartPole-v1", steps=50, seed=0, out=tmp_path, **FAST)
    with pytest.raises(CheckpointError, match="observation_space") as refused:
        load_agent(tmp_path, env_id="Acrobot-v1")
    assert str(refused.value).startswith(str(tmp_path))  # names the file and the fix
    assert "on the env it was trained on, CartPole-v1" in str(refused.value)


def test_loaded_agent_acts_like_the_trained_one(tmp_path):
    trainer = rlgames.train("CartPole-v1", steps=300, seed=0, out=tmp_path, **FAST)
    agent, env, meta = load_agent(tmp_path / "checkpoints" / "latest.ckpt")
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.q_values(obs), trainer.agent.q_values(obs))
    assert meta["env_id"] == "CartPole-v1" and meta["step"] == 300
    env.close()


def test_resume_without_replay_refills_it_before_learning_again(tmp_path):
    rlgames.train("CartPole-v1", steps=300, seed=0, out=tmp_path, save_replay=False, **FAST)
    trainer = Trainer.resume(tmp_path)
    assert len(trainer.replay) == 0 and trainer.run.learn_from == 400
    updates = trainer.updates
    trainer.train(96)
    assert trainer.updates == updates  # still refilling
    trainer.train(200)
    trainer.close()
    assert trainer.updates > updates and len(trainer.replay) == 296


def press_ctrl_c_at(step: int):
    """A callback that sends this process SIGINT once the trainer reaches `step`."""

    def press(trainer):
        if trainer.step == step:
            os.kill(os.getpid(), signal.SIGINT)

    return press


@pytest.fixture
def sigint(request):
    """SIGINT set to `request.param` (Python's own handler, as in a terminal, or ignored, as in
    a job started with & from a script) for one test, whatever the process inherited."""
    previous = signal.signal(signal.SIGINT, request.param)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_the_run_resumes(tmp_path, sigint):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, callbacks=[press_ctrl_c_at(120)], **FAST)
    with pytest.raises(KeyboardInterrupt, match="checkpoint written"):
        trainer.train(1_000)
    trainer.close()
    assert trainer.step == 120
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler given back
    resumed = Trainer.resume(tmp_path)
    assert resumed.step == 120
    resumed.close()


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_ctrl_c_as_the_final_checkpoint_starts_still_writes_it(tmp_path, sigint):
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, **FAST)
    save = trainer.save

    def save_interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # handled as save() begins
        return save(*args, **kwargs)

    trainer.save = save_interrupted
    with pytest.raises(KeyboardInterrupt, match="checkpoint written"):
        trainer.train(100)
    trainer.close()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    resumed = Trainer.resume(tmp_path)
    assert resumed.step == 100
    resumed.close()


@pytest.mark.parametrize("sigint", [signal.SIG_IGN], indirect=True)
def test_an_ignored_sigint_stays_ignored_and_training_goes_on(tmp_path, sigint):
    # A job started with & from a script has SIGINT ignored: a stray one must not stop it.
    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, callbacks=[press_ctrl_c_at(120)], **FAST)
    trainer.train(300)
    trainer.close()
    assert trainer.step == 300 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_rlgames_no_signal_handlers_leaves_sigint_to_python(tmp_path, sigint, monkeypatch):
    monkeypatch.setenv("RLGAMES_NO_SIGNAL_HANDLERS", "1")

    trainer = Trainer("CartPole-v1", out=tmp_path, seed=0, callbacks=[press_ctrl_c_at(120)], **FAST)
    with pytest.raises(KeyboardInterrupt) as stopped:  # Python's own: at once, no checkpoint
        trainer.train(1_000)
    trainer.close()
    assert "checkpoint written" not in str(stopped.value)
    assert not (tmp_path / "checkpoints" / "latest.ckpt").exists()


def test_a_run_stopped_before_its_first_checkpoint_says_how_to_go_on(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no checkpoint to resume from"):
        Trainer.resume(tmp_path)


def test_resume_refuses_changes_that_would_make_it_another_run(tmp_path):
    limit = {"max_episode_steps": 100}
    rlgames.train("CartPole-v1", steps=50, seed=0, out=tmp_path, env_kwargs=limit, **FAST)
    with pytest.raises(ValueError, match="lr cannot change when a run resumes"):
        Trainer.resume(tmp_path, lr=1e-3)
    Trainer.resume(tmp_path, eval_every=100).close()  # a logging-only change is fine
    saved = json.loads((tmp_path / "config.json").read_text())
    same = {"lr": saved["agent_config"]["lr"], "env_kwargs": limit, "n_envs": 1}
    Trainer.resume(tmp_path, **same).close()  # the run's own values are no change
    Trainer.resume(tmp_path, env_kwargs={}).close()  # merged into the run's: no change
    with pytest.raises(ValueError, match="env_kwargs cannot change"):
        Trainer.resume(tmp_path, env_kwargs={"max_episode_steps": 50})
    with pytest.raises(TypeError, match="Unknown setting 'learning_rate'"):
        Trainer.resume(tmp_path, learning_rate=1e-3)


def test_a_run_killed_after_a_periodic_checkpoint_resumes_to_the_same_episodes(tmp_path):
    # kill -9 (an OOM kill, a reboot): no handler runs, only the periodic checkpoint remains.
    # Prioritized: its priorities, synced into the tree when saved, must survive the kill too.
    base = ["train", "--env", "CartPole-v1", "--agent", "ddqn", "--prioritized", "--seed", "3"]
    base += [*OPTIONS, "--steps", "6000"]
    cli(*base, "--out", str(tmp_path / "straight"))
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgames.cli", *base, "--out", str(killed),
         "--checkpoint-minutes", "0.002"],  # every 0.12 s of wall clock
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    latest = killed / "checkpoints" / "latest.ckpt"
    try:
        deadline = time.monotonic() + 120
        while not latest.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.kill()  # SIGKILL
        proc.wait(timeout=30)
    finally:
        proc.kill()
    _, _, meta = load_checkpoint(latest)
    assert 0 < meta["step"] < 6000  # killed mid-run
    cli("train", "--resume", str(killed))
    assert outcomes(killed / "episodes.csv") == outcomes(tmp_path / "straight" / "episodes.csv")
    assert len(outcomes(killed / "episodes.csv")) > 20


def test_checkpoints_are_written_by_wall_clock_by_default_for_every_env():
    from rlgames.training.defaults import DEFAULTS
    from rlgames.training.run import RunSettings

    for env_id in (*DEFAULTS, "Acrobot-v1"):
        if env_id in ("atari", "mario"):
            env_id = {"atari": "ALE/Pong-v5", "mario": "SuperMarioBros-1-1-v0"}[env_id]
        settings = RunSettings.build(env_id, None, None, None, {})
        assert settings.train.checkpoint_minutes == 10.0, env_id


def test_a_log_that_lost_rows_since_its_checkpoint_is_refused_on_resume(tmp_path):
    rlgames.train("CartPole-v1", steps=300, seed=0, out=tmp_path, **FAST)
    lines = (tmp_path / "episodes.csv").read_text().splitlines(keepends=True)
    (tmp_path / "episodes.csv").write_text("".join(lines[:3]))  # rows the checkpoint counts
    with pytest.raises(CheckpointError, match="lost rows"):
        Trainer.resume(tmp_path)


def test_a_corrupt_compressed_frame_in_a_checkpoint_is_a_checkpoint_error_naming_it(tmp_path):
    from rlgames.training.checkpoint import load_checkpoint, save_checkpoint

    settings = {**FAST, "env_kwargs": {"size": 40, "gray": True, "stack": 2}}
    rlgames.train("CartPole-v1", steps=150, seed=0, out=tmp_path, **settings)
    latest = tmp_path / "checkpoints" / "latest.ckpt"
    tensors, arrays, meta = load_checkpoint(latest)
    blob = arrays["replay.frame_bytes"].copy()
    blob[len(blob) // 2 : len(blob) // 2 + 64] = 0xFF  # garbage in the middle of the frames
    arrays["replay.frame_bytes"] = blob
    save_checkpoint(latest, tensors, arrays, meta)  # valid digests over corrupt frames
    with pytest.raises(CheckpointError, match=str(latest)):
        Trainer.resume(tmp_path)
