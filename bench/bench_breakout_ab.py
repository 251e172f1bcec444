"""Breakout A/B of the replay and Rainbow parts: dueling double DQN, the same with prioritized
replay, and Rainbow, one run after the other on the same seed, then their greedy evaluations
(10 whole games, all lives, unclipped, held-out seeds) against env steps and wall-clock.

    .venv/bin/python bench/bench_breakout_ab.py --out /root/rlgames-runs/ab   # train, report
    .venv/bin/python bench/bench_breakout_ab.py --out /root/rlgames-runs/ab --report

Each arm is `rlgames train` with the Atari row's settings and a short schedule (below); run
nothing else meanwhile, or the wall-clock columns mean little. Prints one table row per
evaluation and writes ab.png (score against steps and against minutes) into --out.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from rlgames.training.logs import read_rows

ARMS = {  # run directory name -> agent options
    "breakout-dueling": ["--agent", "dueling"],
    "breakout-dueling_prioritized": ["--agent", "dueling", "--prioritized"],
    "breakout-rainbow": ["--agent", "rainbow"],
}
SCHEDULE = [  # a 200k-step run: learning from 10k, epsilon to 0.01 by 50k, beta to 1 by 200k
    "--env", "ALE/Breakout-v5", "--steps", "200000", "--seed", "0",
    "--learning-starts", "10000", "--epsilon-decay-steps", "50000",
    "--priority-beta-steps", "200000", "--eval-every", "25000", "--eval-episodes", "10",
    "--env-kwargs", '{"max_episode_steps": 10000}', "--no-progress", "--plot-every", "0",
]  # fmt: skip


def train(out: Path) -> None:
    for name, options in ARMS.items():
        command = [sys.executable, "-m", "rlgames.cli", "train", *SCHEDULE, *options]
        subprocess.run([*command, "--out", str(out / name)], check=True)


def seconds_at(run: Path, step: int) -> float:
    """Training wall seconds at `step`, from metrics.csv (for runs whose evals.csv has no
    time_s column: written before it had one)."""
    metrics = [(int(r["step"]), float(r["time_s"])) for r in read_rows(run / "metrics.csv")]
    before = [t for s, t in metrics if s <= step]
    return before[-1] if before else 0.0


def report(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(11, 4))
    print(f"{'arm':<30} {'step':>7} {'minutes':>8} {'mean':>6} {'std':>5} {'max':>5}")
    for name in ARMS:
        run = out / name
        if not (run / "evals.csv").exists():
            print(f"{name:<30} (no run)")
            continue
        evals = read_rows(run / "evals.csv")
        steps = [int(r["step"]) for r in evals]
        means = [float(r["mean"]) for r in evals]
        minutes = [
            (float(r["time_s"]) if r.get("time_s") else seconds_at(run, s)) / 60
            for r, s in zip(evals, steps, strict=True)
        ]
        for r, s, m in zip(evals, steps, minutes, strict=True):
            print(
                f"{name:<30} {s:>7} {m:>8.1f} {float(r['mean']):>6.1f} "
                f"{float(r['std']):>5.1f} {float(r['max']):>5.0f}"
            )
        label = name.removeprefix("breakout-").replace("_", " + ")
        by_steps.plot(steps, means, marker="o", label=label)
        by_time.plot(minutes, means, marker="o", label=label)
    by_steps.set(xlabel="env steps", ylabel="greedy score (10 games)", title="by steps")
    by_time.set(xlabel="training minutes (evaluations included)", title="by wall-clock")
    for ax in (by_steps, by_time):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "ab.png", dpi=100)
    print(f"wrote {out / 'ab.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="where the three runs go")
    parser.add_argument("--report", action="store_true", help="only report existing runs")
    args = parser.parse_args()
    if not args.report:
        train(args.out)
    report(args.out)


if __name__ == "__main__":
    main()
