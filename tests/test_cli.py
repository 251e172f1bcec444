"""The `rlgames` console script: train, eval and play, run as real processes on CartPole."""

from __future__ import annotations

import contextlib
import json
import os
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
    assert "--lr LR Adam learning rate" in text
    assert "--checkpoint-minutes CHECKPOINT_MINUTES Wall-clock minutes between checkpoints" in text
    assert "--n-envs" in text and "--target-update" in text and "--save-replay" in text


def test_train_creates_the_run_directory(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["total_steps"] == 300 and config["train"]["train_freq"] == 16
    assert config["agent_config"]["hidden"] == [16]
    assert (run_dir / "checkpoints" / "latest.ckpt").exists()


def test_eval_prints_mean_std_min_median_max(run_dir):
    out = rlgames("eval", "--checkpoint", str(run_dir), "--episodes", "3").stdout
    match = re.search(
        r"3 episodes, greedy\s+return\s+"
        r"mean (\S+)\s+std (\S+)\s+min (\S+)\s+median (\S+)\s+max (\S+)",
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


def test_eval_plays_games_at_once_stops_them_at_max_score_and_writes_them_in_seed_order(
    run_dir, tmp_path
):
    csv_path = tmp_path / "e.csv"
    args = ("--seeds", "4,1,3", "--n-envs", "2", "--max-score", "9", "--csv", str(csv_path))
    out = rlgames("eval", "--checkpoint", str(run_dir), *args).stdout
    assert "2 at once)" in out and re.search(r"return\s+mean 9\.00\s+std 0\.00", out), out
    assert "3 of 3 games reached --max-score 9" in out
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "seed,return,length,stopped"
    assert [line.split(",")[0] for line in lines[1:]] == ["4", "1", "3"]


def test_eval_epsilon_plays_random_actions_and_says_so(run_dir, tmp_path):
    rows = {}
    for epsilon in ("0", "1"):
        csv_path = tmp_path / f"{epsilon}.csv"
        args = ("--seeds", "0-3", "--epsilon", epsilon, "--csv", str(csv_path))
        out = rlgames("eval", "--checkpoint", str(run_dir), *args).stdout
        rows[epsilon] = csv_path.read_text().splitlines()[1:]
    assert "4 episodes, epsilon 1" in out, out
    assert rows["1"] != rows["0"]  # random actions play other games than the greedy ones
    done = rlgames("eval", "--checkpoint", str(run_dir), "--epsilon", "1.5", check=False)
    assert done.returncode != 0 and "--epsilon: must be between 0 and 1" in done.stderr


def test_eval_max_steps_cuts_every_episode(run_dir):
    out = rlgames("eval", "--checkpoint", str(run_dir), "--seeds", "0-1", "--max-steps", "3").stdout
    assert re.search(r"length\s+mean 3\.00\s+std 0\.00", out), out


def test_train_takes_the_envs_own_agent_and_steps_when_not_given(tmp_path):
    from rlgames.training.defaults import env_defaults

    assert env_defaults("ChromeDino-v0")["agent"] == "dueling"
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


def test_a_config_file_names_the_agent_and_steps_and_the_command_line_wins(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text('agent = "ddqn"\nsteps = 40\nlearning_starts = 20\n')
    out, other = tmp_path / "run", tmp_path / "other"
    rlgames("train", "--env", "CartPole-v1", "--out", str(out), "--config", str(config), *TINY[2:])
    saved = json.loads((out / "config.json").read_text())
    assert saved["agent"] == "ddqn" and saved["total_steps"] == 40
    rlgames(
        "train", "--env", "CartPole-v1", "--out", str(other), "--config", str(config),
        "--agent", "dqn", "--steps", "30", *TINY[2:],
    )  # fmt: skip
    saved = json.loads((other / "config.json").read_text())
    assert saved["agent"] == "dqn" and saved["total_steps"] == 30


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


def one_line_error(done: subprocess.CompletedProcess, *fragments: str) -> None:
    """A refused command: exit status 2, no traceback, every fragment in its last line."""
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in last, last


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ("learnign_starts = 500\n", "Unknown setting 'learnign_starts'"),
        ('lr = "fast"\n', "AgentConfig.lr must be a finite number, got 'fast'"),
        ('train_freq = "4"\n', "TrainConfig.train_freq must be an integer, got '4'"),
        ("hidden = 64\n", "AgentConfig.hidden must be a list of integers, got 64"),
        ("batch_size = 0\n", "AgentConfig.batch_size must be >= 1, got 0"),
        ("lr = [\n", "is not valid TOML"),
    ],
)
def test_a_bad_config_file_is_refused_in_one_line_and_writes_nothing(tmp_path, settings, expected):
    config = tmp_path / "settings.toml"
    config.write_text(settings)
    out = tmp_path / "run"
    done = rlgames("train", "--env", "CartPole-v1", "--steps", "60", "--out", str(out),
                   "--config", str(config), check=False)  # fmt: skip
    one_line_error(done, expected)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--env", "CartPol-v1"], "CartPol"),
        (["--env", "CartPole-v1", "--env-kwargs", '{"bogus": 1}'], "'bogus'"),
        (["--env", "CartPole-v1", "--train-freq", "0"], "TrainConfig.train_freq must be >= 1"),
        (["--env", "CartPole-v1", "--epsilon-end", "2"], "epsilon_end must be between 0.0 and"),
    ],
)
def test_bad_train_options_are_refused_in_one_line_and_write_nothing(tmp_path, args, expected):
    out = tmp_path / "run"
    done = rlgames("train", *args, "--steps", "60", "--out", str(out), check=False)
    one_line_error(done, expected)
    assert not out.exists()


def test_cuda_on_a_machine_without_it_is_refused_in_one_line(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    done = rlgames("train", "--env", "CartPole-v1", "--steps", "60", "--device", "cuda",
                   "--out", str(tmp_path / "run"), check=False)  # fmt: skip
    one_line_error(done, "no usable CUDA device", '"cpu"')


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--env", "Acrobot-v1"], "env Acrobot-v1: the run in"),
        (["--agent", "dueling"], "agent dueling: the run in"),
        (["--seed", "7"], "seed 7: the run in"),
    ],
)
def test_resume_refuses_another_env_agent_or_seed(run_dir, args, expected):
    done = rlgames("train", "--resume", str(run_dir), *args, check=False)
    one_line_error(done, expected, "Leave")


def test_resume_judges_a_config_file_like_options(run_dir, tmp_path):
    changed = tmp_path / "changed.toml"
    changed.write_text("lr = 0.5\n")
    done = rlgames("train", "--resume", str(run_dir), "--config", str(changed), check=False)
    one_line_error(done, "lr cannot change when a run resumes")


def test_resume_accepts_the_runs_own_values(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    saved = json.loads((copy / "config.json").read_text())
    same = tmp_path / "same.toml"
    same.write_text(f"lr = {saved['agent_config']['lr']!r}\nbatch_size = 16\n")
    rlgames("train", "--resume", str(copy), "--config", str(same), "--env", "CartPole-v1",
            "--agent", "dqn", "--seed", "0", "--steps", "320", "--no-progress")  # fmt: skip
    assert json.loads((copy / "config.json").read_text())["total_steps"] == 320


def test_resume_of_a_folder_that_is_not_a_run_says_so(tmp_path):
    done = rlgames("train", "--resume", str(tmp_path), check=False)
    one_line_error(done, "is not an rlgames run directory", "--out")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--episodes", "0"], "--episodes: must be at least 1"),
        (["--seeds", "5-1"], "gives no seeds"),
        (["--csv", "somewhere/"], "is a directory"),
        (["--max-score", "0"], "--max-score: must be more than 0"),
        (["--n-envs", "0"], "--n-envs: must be at least 1"),
    ],
)
def test_bad_eval_options_are_refused_before_playing(run_dir, args, expected):
    done = rlgames("eval", "--checkpoint", str(run_dir), *args, check=False)
    assert done.returncode == 2 and expected in done.stderr
    assert "episode 1" not in done.stdout


def test_eval_names_the_env_it_played(run_dir):
    done = rlgames("eval", "--checkpoint", str(run_dir), "--episodes", "1", "--env",
                   "CartPole-v0")  # fmt: skip
    assert "\nCartPole-v0 dqn step" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--record", "out.txt"], "--record out.txt: name a .gif"), (["--fps", "0"], "--fps")],
)
def test_bad_recording_options_are_refused_before_playing(run_dir, tmp_path, args, expected):
    done = rlgames("play", "--checkpoint", str(run_dir), *args, check=False)
    assert done.returncode == 2 and expected in done.stderr
    assert "return" not in done.stdout


def wait_until_training(out: Path, proc: subprocess.Popen) -> None:
    """Until the run `proc` writes into `out` has logged its first metrics row."""
    deadline = time.monotonic() + 120
    while not (out / "metrics.csv").exists() or len((out / "metrics.csv").read_text()) < 60:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)


def test_ctrl_c_during_train_checkpoints_and_says_so_in_one_line(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgames.cli", "train", "--env", "CartPole-v1", "--steps",
         "10000000", "--out", str(out), *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # As from a terminal, even when this test runs with SIGINT ignored (& in a script, CI)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        wait_until_training(out, proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted: training stopped at step" in stdout and "Traceback" not in stderr
    assert (out / "checkpoints" / "latest.ckpt").exists()


def test_ctrl_c_to_the_whole_job_with_async_workers_stops_cleanly(tmp_path):
    # A terminal's Ctrl-C goes to every process of the job, the vector env's workers too.
    out = tmp_path / "run"

    def own_group_with_default_sigint():
        os.setsid()
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen(
        [sys.executable, "-m", "rlgames.cli", "train", "--env", "CartPole-v1", "--steps",
         "10000000", "--n-envs", "2", "--vectorization-mode", "async", "--out", str(out),
         *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=own_group_with_default_sigint,
    )  # fmt: skip
    try:
        wait_until_training(out, proc)
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert "interrupted: training stopped at step" in stdout, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    resumed = rlgames("train", "--resume", str(out), "--steps", "1", check=False)
    assert resumed.returncode == 0, resumed.stderr  # the checkpoint is whole


@pytest.mark.parametrize(
    "agent_args", [["--agent", "rainbow"], ["--agent", "dqn", "--prioritized"]], ids=str
)
def test_rainbow_and_prioritized_runs_train_with_the_envs_defaults_and_evaluate(
    tmp_path, agent_args
):
    out = tmp_path / "run"
    rlgames("train", "--env", "CartPole-v1", *agent_args, "--steps", "3000", "--out", str(out),
            "--no-progress", "--no-tensorboard")  # fmt: skip
    config = json.loads((out / "config.json").read_text())
    assert config["agent_config"]["prioritized"] is True
    assert config["agent"] == agent_args[1]
    done = rlgames("eval", "--checkpoint", str(out), "--episodes", "2")
    assert re.search(r"return\s+mean \d", done.stdout), done.stdout
