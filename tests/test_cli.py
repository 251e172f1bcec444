"""The `rlgames` console script: train, eval and play, run as real processes on CartPole."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

TINY = [
    "--learning-starts", "100", "--train-freq", "16", "--gradient-steps", "2",
    "--batch-size", "16", "--hidden", "16", "--log-every", "100", "--plot-every", "0",
    "--no-progress", "--no-tensorboard",
]  # fmt: skip


def rlgames(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "rlgames.cli", *args], capture_output=True, text=True, timeout=300
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    rlgames(
        "train", "--env", "CartPole-v1", "--steps", "300", "--seed", "0", "--out", str(out), *TINY
    )
    return out


def test_console_script_is_installed():
    script = shutil.which("rlgames", path=str(Path(sys.executable).parent))
    assert script is not None
    done = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "train" in done.stdout and "play" in done.stdout


def test_train_help_shows_every_config_field_with_its_docstring():
    text = " ".join(rlgames("train", "--help").stdout.split())
    assert "--learning-starts LEARNING_STARTS Env steps of uniformly random actions" in text
    assert "--lr LR Adam learning rate." in text
    assert "--n-envs" in text and "--target-update" in text and "--save-replay" in text


def test_train_creates_the_run_directory(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["total_steps"] == 300 and config["train"]["train_freq"] == 16
    assert config["agent_config"]["hidden"] == [16]
    assert (run_dir / "checkpoints" / "latest.ckpt").exists()


def test_eval_prints_mean_std_min_median_max(run_dir):
    out = rlgames("eval", "--checkpoint", str(run_dir), "--episodes", "3").stdout
    match = re.search(
        r"3 episodes\s+return\s+mean (\S+)\s+std (\S+)\s+min (\S+)\s+median (\S+)\s+max (\S+)",
        out,
    )
    assert match, out
    mean, std, lo, median, hi = map(float, match.groups())
    assert lo <= median <= hi and lo <= mean <= hi and std >= 0


def test_eval_writes_one_csv_row_per_episode_and_prints_each(run_dir, tmp_path):
    out = rlgames(
        "eval", "--checkpoint", str(run_dir), "--seeds", "3,7", "--csv", str(tmp_path / "e.csv")
    ).stdout
    assert "episode 1: seed 3" in out and "episode 2: seed 7" in out
    lines = (tmp_path / "e.csv").read_text().splitlines()
    assert lines[0] == "seed,return,length" and [line.split(",")[0] for line in lines[1:]] == [
        "3",
        "7",
    ]


def test_eval_max_steps_cuts_every_episode(run_dir):
    out = rlgames("eval", "--checkpoint", str(run_dir), "--seeds", "0-1", "--max-steps", "3").stdout
    assert re.search(r"length\s+mean 3\.00\s+std 0\.00", out), out


def test_train_takes_the_envs_own_agent_and_steps_when_not_given(tmp_path):
    from rlgames.config import RUN_DEFAULTS

    assert RUN_DEFAULTS["ChromeDino-v0"]["agent"] == "dueling"
    out = tmp_path / "run"
    rlgames("train", "--env", "CartPole-v1", "--steps", "200", "--out", str(out), *TINY)
    assert json.loads((out / "config.json").read_text())["agent"] == "dqn"


def test_eval_seed_range_sets_the_number_of_episodes(run_dir):
    checkpoint = str(run_dir / "checkpoints" / "latest.ckpt")
    out = rlgames("eval", "--checkpoint", checkpoint, "--seeds", "0-4").stdout
    assert "5 episodes" in out


def test_play_records_a_gif_of_raw_frames(run_dir, tmp_path):
    pytest.importorskip(
        "pygame", reason="CartPole renders with pygame (gymnasium[classic-control])"
    )
    gif = tmp_path / "cartpole.gif"
    out = rlgames("play", "--checkpoint", str(run_dir), "--record", str(gif)).stdout
    length = int(re.search(r"in (\d+) steps", out).group(1))
    with Image.open(gif) as image:
        assert image.size == (600, 400)  # CartPole's rgb_array render, not the observation
        assert 1 < image.n_frames <= length + 1  # Pillow merges identical frames


def test_config_file_is_read_and_command_line_wins(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("learning_starts = 50\ntrain_freq = 8\nlr = 0.01\n")
    out = tmp_path / "run"
    rlgames(
        "train", "--env", "CartPole-v1", "--steps", "60", "--out", str(out),
        "--config", str(config), *TINY[2:],
    )  # fmt: skip
    saved = json.loads((out / "config.json").read_text())
    assert saved["train"]["learning_starts"] == 50  # from the file
    assert saved["train"]["train_freq"] == 16  # the command line wins over the file
    assert saved["agent_config"]["lr"] == 0.01


def test_train_without_env_or_resume_says_what_is_missing():
    done = rlgames("train", "--steps", "10", check=False)
    assert done.returncode != 0 and "--env" in done.stderr


def test_eval_of_a_foreign_file_gives_one_clear_error(tmp_path):
    bogus = tmp_path / "not-a-checkpoint.ckpt"
    bogus.write_bytes(b"hello world, not a checkpoint")
    done = rlgames("eval", "--checkpoint", str(bogus), check=False)
    assert done.returncode != 0
    assert "not an rlgames checkpoint" in done.stderr


@pytest.mark.atari
def test_play_records_raw_atari_frames_not_the_agents_84x84_stack(tmp_path):
    pytest.importorskip("ale_py")
    out, gif = tmp_path / "run", tmp_path / "breakout.gif"
    rlgames(
        "train", "--env", "ALE/Breakout-v5", "--steps", "40", "--out", str(out),
        "--buffer-size", "500", "--learning-starts", "20", "--batch-size", "4", *TINY[4:],
    )  # fmt: skip
    done = rlgames("play", "--checkpoint", str(out), "--record", str(gif), "--max-steps", "30")
    assert "wrote 31 frames" in done.stdout  # the reset frame and one per step
    with Image.open(gif) as image:  # the ALE screen; Pillow merges identical frames
        assert image.size == (160, 210) and 1 < image.n_frames <= 31


def test_eval_with_fewer_seeds_than_episodes_says_so(run_dir):
    done = rlgames("eval", "--checkpoint", str(run_dir), "--episodes", "5", "--seeds", "0-1",
                   check=False)  # fmt: skip
    assert done.returncode != 0 and "--episodes 5 needs as many seeds" in done.stderr


def test_resume_with_an_agent_option_is_refused_with_one_clear_error(run_dir):
    done = rlgames("train", "--resume", str(run_dir), "--lr", "0.001", check=False)
    assert done.returncode != 0 and "lr cannot change when a run resumes" in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_during_train_checkpoints_and_says_so_in_one_line(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgames.cli", "train", "--env", "CartPole-v1", "--steps",
         "10000000", "--out", str(out), *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (out / "metrics.csv").exists() or len((out / "metrics.csv").read_text()) < 60:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted: training stopped at step" in stdout and "Traceback" not in stderr
    assert (out / "checkpoints" / "latest.ckpt").exists()
