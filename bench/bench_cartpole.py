"""CartPole-v1 with the default config: N seeds x 30,000 steps (its row), greedy eval per seed.

Prints, per seed, the greedy mean return over --eval-episodes episodes (reset seeds
10_000..) of the final weights, the training steps/s, and how many seeds reach >= 475.

    .venv/bin/python bench/bench_cartpole.py --seeds 0 1 2 3 4
    .venv/bin/python bench/bench_cartpole.py --agent rainbow --eval-every 5000
    .venv/bin/python bench/bench_cartpole.py --agent dqn --set prioritized=true --eval-every 5000
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

import rlgames
from rlgames.training import evaluate


def run_seed(seed: int, args: argparse.Namespace) -> tuple[float, float, tuple | None]:
    """(final greedy mean, steps/s, (step, seconds) of the first in-training evaluation with a
    mean of 500, or None)."""
    out = Path(f"{args.out}/{args.agent}-{args.tag}seed{seed}")
    shutil.rmtree(out, ignore_errors=True)  # a re-run starts afresh
    start = time.perf_counter()
    first: list[tuple[int, float]] = []

    def watch(trainer) -> None:
        if not first and trainer.last_eval is not None and trainer.last_eval["mean"] >= 500:
            first.append((trainer.step, time.perf_counter() - start))

    trainer = rlgames.train(
        "CartPole-v1",
        agent=args.agent,
        steps=args.steps,
        seed=seed,
        out=out,
        progress=False,
        tensorboard=False,
        plot_every=0,
        eval_every=args.eval_every,
        eval_episodes=5,
        callbacks=[watch],
        **args.set,
    )
    rate = args.steps / (time.perf_counter() - start)
    env = rlgames.make_env("CartPole-v1")
    seeds = range(10_000, 10_000 + args.eval_episodes)
    returns = evaluate(trainer.agent, env, args.eval_episodes, seeds)
    env.close()
    return float(returns.mean()), rate, (first[0] if first else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--steps",
        type=int,
        default=30_000,
        help="env steps per seed (the row's lr and beta schedules span 30,000: for another "
        "length set lr_decay_steps and priority_beta_steps with --set too)",
    )
    parser.add_argument("--agent", default="dqn")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default="bench/out/cartpole")
    parser.add_argument("--tag", default="", help="prefix of the run directories")
    parser.add_argument(
        "--eval-every", type=int, default=0,
        help="in-training greedy evaluations (5 episodes) every N steps: report the first at 500",
    )  # fmt: skip
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=JSON", help="override defaults, e.g. lr=1e-3"
    )
    args = parser.parse_args()
    args.set = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    torch.set_num_threads(args.threads)
    means = []
    for seed in args.seeds:
        mean, rate, first = run_seed(seed, args)
        means.append(mean)
        reached = "" if not args.eval_every else (
            "; no evaluation reached 500" if first is None
            else f"; first evaluation at 500: step {first[0]}, {first[1]:.0f} s"
        )  # fmt: skip
        print(f"seed {seed}: greedy mean return {mean:.1f}  ({rate:.0f} steps/s){reached}",
              flush=True)  # fmt: skip
    solved = sum(m >= 475 for m in means)
    rounded = np.round(means, 1).tolist()
    print(f"{args.agent} {args.set}: {solved}/{len(means)} seeds >= 475; means {rounded}")


if __name__ == "__main__":
    main()
