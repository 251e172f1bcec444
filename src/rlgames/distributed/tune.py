"""rlgames runs as Ray Tune trials: each trial is one `rlgames.train` run whose checkpoint is
its run directory.

    from ray import tune
    from rlgames.distributed.tune import trial

    space = {"env_id": "CartPole-v1", "steps": 30_000, "eval_every": 5_000,
             "seed": tune.grid_search([0, 1]), "lr": tune.grid_search([3e-4, 1e-3])}
    tune.Tuner(trial, param_space=space, tune_config=tune.TuneConfig(metric="score",
               mode="max")).fit()

A trial's config holds `env_id`, `steps`, optionally `agent` and `seed`, and any TrainConfig
field (lr, n_step, ...). After each of the run's evaluations the trial writes the run's
checkpoint and reports `score` (the greedy mean return), `step`, `minutes` and `best`, with
the run directory as Tune's checkpoint; a trial that fails and is retried
(`FailureConfig(max_failures=...)`) continues from the last one, exactly as
`rlgames train --resume` would (`resumed_from` says from which step). Only the run directory's
files (safetensors and JSON) are checkpointed: nothing a loader would unpickle.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlgames.training.loop import Callback, Trainer

RUN_DIR = "run"
"""The run directory's name inside the trial's working directory and its checkpoints."""


def trial(config: dict[str, Any], callbacks: Iterable[Callback] = ()) -> None:
    """A Tune function trainable: train `config["env_id"]` for `config["steps"]` env steps
    with the rest of `config` as settings, reporting after each evaluation (see the module).
    `callbacks` are the Trainer's (give them with `tune.with_parameters`)."""
    from ray import tune

    settings = dict(config)
    try:
        env_id, steps = settings.pop("env_id"), int(settings.pop("steps"))
    except KeyError as missing:
        raise ValueError(
            f"a trial's config needs {missing}: the env id and the run's steps"
        ) from None
    agent, seed = settings.pop("agent", None), int(settings.pop("seed", 0))
    out = Path.cwd() / RUN_DIR  # Tune runs each trial in a working directory of its own
    checkpoint = tune.get_checkpoint()
    shutil.rmtree(out, ignore_errors=True)  # what a failed attempt wrote after its last report
    if checkpoint is not None:  # a retried trial: continue from the last report
        checkpoint.to_directory(str(out))
        trainer = Trainer.resume(out, callbacks=callbacks)
    else:
        settings.setdefault("progress", False)
        trainer = Trainer(env_id, agent, out=out, seed=seed, callbacks=callbacks, **settings)
    reporter = _Reporter(out, resumed_from=trainer.step)
    trainer.callbacks.append(reporter)
    try:
        trainer.train(steps - trainer.step)
        if reporter.reported_step != trainer.step:  # the run ended between evaluations
            trainer.run_evaluation()
            reporter(trainer)
    finally:
        trainer.close()


class _Reporter:
    """A Trainer callback: after each new evaluation, checkpoint the run and report it."""

    def __init__(self, out: Path, resumed_from: int) -> None:
        self.out, self.resumed_from = out, int(resumed_from)
        self.reported: dict[str, float] | None = None
        self.reported_step = -1

    def __call__(self, trainer: Trainer) -> None:
        row = trainer.last_eval
        if row is None or row is self.reported:
            return
        from ray import tune

        trainer.save()
        metrics = {
            "score": float(row["mean"]),
            "step": trainer.step,
            "minutes": trainer.logger.elapsed_s / 60 if trainer.logger is not None else 0.0,
            "best": float(trainer.run.best_eval),
            "resumed_from": self.resumed_from,
        }
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(self.out)))
        self.reported, self.reported_step = row, trainer.step
