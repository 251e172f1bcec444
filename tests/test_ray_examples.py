"""The Ray examples on a local Ray instance: RLlib's DQN on our envs (its env runners each
hold their own env; no browser is left after `algo.stop()`) and a Tune sweep of rlgames runs
whose failed trial resumes from its run directory."""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

import pytest

from browsers import browsers, none_left

ray = pytest.importorskip("ray", reason="needs the ray extra (pip install 'rlgames[ray]')")
pytestmark = pytest.mark.ray
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Tune ships this module's callbacks to its trial processes by value (they cannot import it).
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()


def example(name: str) -> dict:
    """An example script's functions (run as a module, not as __main__)."""
    return runpy.run_path(str(EXAMPLES / name))


def test_rllib_dqn_trains_on_cartpole_with_two_env_runners(local_ray):
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

    results = example("rllib_dqn.py")["train"]("CartPole-v1", iterations=2, runners=2)
    assert len(results) == 2
    sampled = [r[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME] for r in results]
    assert 0 < sampled[0] < sampled[1]


@pytest.mark.dino
def test_rllib_dqn_on_dino_gives_each_env_runner_a_browser_and_stop_ends_them(local_ray):
    assert not browsers(), "a browser of an earlier test is still running"
    algo = example("rllib_dqn.py")["build"]("ChromeDino-v0", runners=2)
    try:
        for _ in range(2):
            result = algo.train()
        running = browsers()
    finally:
        algo.stop()
    assert len(running) == 2  # one per env runner, none in the driver
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] > 0
    assert none_left(browsers)


def test_a_tune_sweep_runs_its_trials_and_a_failed_trial_resumes_from_its_run_dir(
    local_ray, tmp_path
):
    marker = tmp_path / "crashed"

    def crash_once(trainer):  # the first trial past step 700 fails, once
        if trainer.step < 700:
            return
        try:  # created by one trial only, however close together they get here
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, repr(trainer.agent.config.lr).encode())
        os.close(fd)
        raise RuntimeError("an injected failure")

    tiny = {
        "learning_starts": 200, "hidden": (32,), "plot_every": 0, "tensorboard": False,
        "eval_episodes": 2, "buffer_size": 2_000,
    }  # fmt: skip
    results = example("tune_sweep.py")["sweep"](
        "CartPole-v1", 1_000, seeds=[0], lrs=[1e-3, 3e-4], storage=tmp_path / "tune",
        eval_every=500, settings=tiny, callbacks=(crash_once,),
    )  # fmt: skip
    assert len(results) == 2 and not results.errors
    by_lr = {r.config["lr"]: r for r in results}
    crashed = by_lr[float(marker.read_text())]
    other = next(r for r in results if r is not crashed)
    assert crashed.metrics["resumed_from"] == 500 and other.metrics["resumed_from"] == 0
    for result in results:
        assert result.metrics["step"] == 1_000
        run = Path(result.checkpoint.path)  # the run directory, as rlgames eval takes it
        assert (run / "checkpoints" / "latest.ckpt").exists()
        evals = (run / "evals.csv").read_text().splitlines()
        assert [line.split(",")[0] for line in evals[1:]] == ["500", "1000"]
