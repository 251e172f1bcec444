"""Greedy evaluation score of one or more runs against env steps and against training minutes.

    .venv/bin/python bench/plot_evals.py --out docs/results/breakout-curves.png \\
        /root/rlgames-runs/breakout:rlgames

Each RUN[:label] is a run directory with evals.csv (written by the in-training evaluations:
mean and std over their games, and the run's wall seconds when each began). Draws the mean
with a band of ± one std, the score where the game reports one, else the return; prints
the rows it drew.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlgames.training.logs import read_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="RUN_DIR[:label]")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--title", default="greedy evaluation")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (by_steps, by_time) = plt.subplots(1, 2, figsize=(11, 4))
    for spec in args.runs:
        run_dir, _, label = spec.partition(":")
        run = Path(run_dir)
        evals = read_rows(run / "evals.csv")
        if not evals:
            raise SystemExit(f"{run}/evals.csv has no evaluations")
        key = "score_mean" if evals[0].get("score_mean") else "mean"
        spread = "score_std" if key == "score_mean" else "std"
        steps = [int(r["step"]) for r in evals]
        minutes = [float(r["time_s"]) / 60 for r in evals]
        means = [float(r[key]) for r in evals]
        low = [m - float(r[spread]) for m, r in zip(means, evals, strict=True)]
        high = [m + float(r[spread]) for m, r in zip(means, evals, strict=True)]
        for s, t, m, r in zip(steps, minutes, means, evals, strict=True):
            print(f"{label or run.name}: step {s:>8} minute {t:6.1f} mean {m:7.1f} ± {r[spread]}")
        for ax, x in ((by_steps, steps), (by_time, minutes)):
            ax.plot(x, means, marker="o", label=label or run.name)
            ax.fill_between(x, low, high, alpha=0.2)
    by_steps.set(xlabel="env steps", ylabel="greedy score, mean ± std", title="by steps")
    by_time.set(xlabel="training minutes (evaluations included)", title="by wall-clock")
    for ax in (by_steps, by_time):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(args.title)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
