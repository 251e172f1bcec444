"""Run logs: CSV rows, moving averages, curves.png, TensorBoard events, resume positions."""

from __future__ import annotations

import csv
import time

import numpy as np
import pytest
from PIL import Image

from rlgames.training.logs import RunLogger
from rlgames.training.plots import moving_average, plot_run


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def log_some(logger: RunLogger, episodes: int = 5) -> None:
    for i in range(episodes):
        logger.episode(step=10 * (i + 1), env_index=0, ret=float(i), length=10)
    logger.metrics(step=10 * episodes, epsilon=0.5, loss=0.25, q_mean=1.5)


def test_csv_files_start_with_a_header_and_get_one_row_per_event(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    log_some(logger, 3)
    logger.evaluation(30, np.array([1.0, 2.0, 6.0]))
    logger.close()
    episodes = rows(tmp_path / "episodes.csv")
    assert [r["return"] for r in episodes] == ["0.0", "1.0", "2.0"]
    assert [r["episode"] for r in episodes] == ["1", "2", "3"]
    (metric,) = rows(tmp_path / "metrics.csv")
    assert metric["step"] == "30" and float(metric["loss"]) == 0.25
    assert float(metric["recent_return"]) == 1.0 and metric["episodes"] == "3"
    (evaluation,) = rows(tmp_path / "evals.csv")
    assert float(evaluation["mean"]) == 3.0 and float(evaluation["median"]) == 2.0
    assert float(evaluation["min"]) == 1.0 and float(evaluation["max"]) == 6.0


def test_an_evaluation_row_says_when_it_began_in_training_seconds_and_how_long_it_took(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    started = logger.elapsed_s
    time.sleep(0.05)  # the evaluation's own time
    logger.evaluation(10, np.array([1.0]), started_s=started)
    logger.evaluation(20, np.array([1.0]))  # no start given: it began now
    logger.close()
    first, second = rows(tmp_path / "evals.csv")
    assert float(first["time_s"]) == pytest.approx(started, abs=1e-3)
    assert float(first["eval_s"]) >= 0.05 and float(second["eval_s"]) == 0.0
    assert float(second["time_s"]) >= float(first["time_s"]) + 0.05 - 1e-3  # rounded to ms


def test_recent_return_is_the_mean_of_the_last_100_episodes(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    for i in range(150):
        logger.episode(i, 0, float(i), 1)
    assert logger.recent_return == pytest.approx(np.mean(np.arange(50, 150)))
    logger.close()


def test_moving_average_uses_fewer_values_at_the_start():
    np.testing.assert_allclose(moving_average(np.array([2.0, 4.0, 6.0, 8.0]), 2), [2, 3, 5, 7])
    assert moving_average(np.array([])).size == 0


def test_moving_average_skips_the_nans_logged_before_learning_starts():
    nan = float("nan")
    np.testing.assert_allclose(moving_average(np.array([nan, nan, 2.0, 4.0, 6.0]), 2),
                               [nan, nan, 2, 3, 5])  # fmt: skip


def test_curves_png_is_drawn_from_the_csv_files_alone(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    log_some(logger)
    logger.close()
    path = plot_run(tmp_path)
    assert path == tmp_path / "curves.png"
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 600
    assert not list(tmp_path.glob(".*.tmp"))  # written whole, no temporary left


def test_plot_run_writes_where_it_is_told(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    log_some(logger)
    logger.close()
    assert plot_run(tmp_path, tmp_path / "elsewhere" / "c.png").is_file()


def test_tensorboard_events_are_written_when_enabled(tmp_path):
    pytest.importorskip("tensorboard")
    logger = RunLogger(tmp_path, tensorboard=True, progress=False)
    log_some(logger)
    logger.close()
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_reopening_at_a_saved_position_drops_later_rows_and_appends(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    log_some(logger, 3)
    position = logger.state_dict()
    log_some(logger, 2)  # written after the "checkpoint": lost on resume
    logger.close()
    resumed = RunLogger(tmp_path, tensorboard=False, progress=False)
    resumed.load_state_dict(position)
    resumed.episode(step=40, env_index=0, ret=9.0, length=10)
    resumed.close()
    episodes = rows(tmp_path / "episodes.csv")
    assert [r["episode"] for r in episodes] == ["1", "2", "3", "4"]
    assert episodes[-1]["return"] == "9.0"
    assert len(rows(tmp_path / "metrics.csv")) == 1


def test_progress_bar_shows_recent_return_and_epsilon(tmp_path, capsys):
    logger = RunLogger(tmp_path, tensorboard=False, progress=True, total_steps=100)
    log_some(logger, 2)
    logger.progress(50, epsilon=0.25)
    logger.close()
    err = capsys.readouterr().err
    assert "50/100" in err and "eps=0.250" in err and "ret=0.5" in err and "step/s" in err


def test_game_scores_and_wall_time_are_logged_beside_returns(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    logger.episode(step=10, env_index=0, ret=1.5, length=10, score=42)
    logger.episode(step=20, env_index=0, ret=2.5, length=10)  # a game without a score
    logger.evaluation(20, np.array([1.0, 3.0]), scores=np.array([100.0, 300.0]))
    logger.evaluation(30, np.array([1.0, 3.0]))
    logger.close()
    plot_run(tmp_path)
    first, second = rows(tmp_path / "episodes.csv")
    assert first["score"] == "42" and second["score"] == ""
    assert 0 <= float(first["time_s"]) <= float(second["time_s"])
    with_scores, without = rows(tmp_path / "evals.csv")
    assert float(with_scores["score_mean"]) == 200.0 and float(with_scores["score_max"]) == 300.0
    assert float(with_scores["score_median"]) == 200.0 and float(with_scores["score_std"]) == 100.0
    assert without["score_mean"] == "" and float(without["mean"]) == 2.0
    with Image.open(tmp_path / "curves.png") as image:  # a fifth panel: the game score
        assert image.width > image.height


def test_logs_of_an_older_version_gain_the_new_columns_and_keep_their_rows(tmp_path):
    (tmp_path / "episodes.csv").write_text("step,episode,env,return,length\n5,1,0,2.0,5\n")
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    logger.episode(step=9, env_index=0, ret=3.0, length=4, score=7)
    logger.close()
    old, new = rows(tmp_path / "episodes.csv")
    assert old["return"] == "2.0" and old["score"] == ""
    assert new["score"] == "7" and new["episode"] == "2"


def test_mario_x_pos_and_flag_are_logged_per_episode_and_per_evaluation(tmp_path):
    logger = RunLogger(tmp_path, tensorboard=False, progress=False)
    logger.episode(step=10, env_index=0, ret=1.5, length=10, score=0, info={"x_pos": 300.0})
    logger.episode(10, 0, 9.0, 20, 400, info={"x_pos": 3161.0, "flag_get": 1.0})
    logger.episode(step=30, env_index=0, ret=2.5, length=10)  # a game without them
    x_pos, flags = np.array([300.0, 3161.0, 1000.0, 700.0]), np.array([0.0, 1.0, 0.0, 0.0])
    logger.evaluation(30, np.ones(4), info={"x_pos": x_pos, "flag_get": flags})
    logger.evaluation(40, np.ones(4))
    logger.close()
    plot_run(tmp_path)
    first, second, third = rows(tmp_path / "episodes.csv")
    assert first["x_pos"] == "300.0" and first["flag_get"] == ""
    assert second["x_pos"] == "3161.0" and second["flag_get"] == "1.0"
    assert third["x_pos"] == third["flag_get"] == ""
    mario, other = rows(tmp_path / "evals.csv")
    assert float(mario["x_pos_mean"]) == 1290.25 and float(mario["x_pos_median"]) == 850.0
    assert float(mario["x_pos_min"]) == 300.0 and float(mario["x_pos_max"]) == 3161.0
    assert float(mario["flag_rate"]) == 0.25
    assert other["x_pos_mean"] == other["flag_rate"] == ""
