"""A seed x learning-rate sweep of `rlgames.train` on Ray Tune: one trial per run.

    pip install -e ".[ray]"
    python examples/tune_sweep.py                                   # CartPole, 2 x 2 trials
    python examples/tune_sweep.py --env ChromeDino-v0 --steps 200000 --lrs 1e-4 3e-4

Each trial is `rlgames.distributed.tune.trial`: an rlgames run whose checkpoint (after each
evaluation) is its run directory, so a failed trial is retried from its last evaluation
(`--max-failures`). The table at the end has each trial's last and best greedy evaluation;
its run directory (logs, curves.png, checkpoints) is Tune's last checkpoint of the trial,
which `rlgames eval --checkpoint <dir>` takes as any other run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def sweep(
    env_id: str,
    steps: int,
    seeds: list[int],
    lrs: list[float],
    storage: Path,
    *,
    eval_every: int,
    max_failures: int = 1,
    cpus_per_trial: float = 1.0,
    settings: dict[str, Any] | None = None,
    callbacks: tuple = (),
):
    """Run the sweep; returns Tune's ResultGrid (metric "score", the greedy mean return)."""
    from ray import tune

    from rlgames.distributed.tune import trial

    space = {
        "env_id": env_id, "steps": steps, "eval_every": eval_every, "torch_threads": 1,
        "seed": tune.grid_search(seeds), "lr": tune.grid_search(lrs), **(settings or {}),
    }  # fmt: skip
    trainable = tune.with_resources(
        tune.with_parameters(trial, callbacks=callbacks), {"cpu": cpus_per_trial}
    )
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        tune_config=tune.TuneConfig(metric="score", mode="max"),
        run_config=tune.RunConfig(
            name=f"sweep-{env_id.replace('/', '-')}",
            storage_path=str(Path(storage).resolve()),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            verbose=0,
        ),
    )
    return tuner.fit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-4, 1e-3])
    parser.add_argument("--storage", type=Path, default=Path("runs/tune"))
    parser.add_argument("--max-failures", type=int, default=1)
    parser.add_argument("--ray-address", help="a running cluster (default: a local Ray)")
    args = parser.parse_args()

    import ray

    ray.init(address=args.ray_address, include_dashboard=False)
    try:
        results = sweep(
            args.env, args.steps, args.seeds, args.lrs, args.storage,
            eval_every=args.eval_every, max_failures=args.max_failures,
        )  # fmt: skip
    finally:
        ray.shutdown()
    print(f"{'seed':>4} {'lr':>8} {'step':>7} {'score':>7} {'best':>7}  run directory")
    for result in results:
        config, metrics = result.config, result.metrics or {}
        where = Path(result.checkpoint.path) if result.checkpoint else "(failed)"
        print(
            f"{config['seed']:>4} {config['lr']:>8.1e} {metrics.get('step', 0):>7} "
            f"{metrics.get('score', float('nan')):>7.1f} {metrics.get('best', float('nan')):>7.1f}"
            f"  {where}"
        )
    best = results.get_best_result()
    print(f"best: seed {best.config['seed']}, lr {best.config['lr']:.1e}: {best.metrics['score']}")


if __name__ == "__main__":
    main()
