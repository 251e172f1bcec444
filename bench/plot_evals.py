"""Greedy evaluation score of one or more runs against env steps and against training minutes.

    .venv/bin/python bench/plot_evals.py --out docs/results/breakout-curves.png \\
        /root/rlgames-runs/breakout:rlgames

    .venv/bin/python bench/plot_evals.py --key x_pos --episodes \
        --out docs/results/mario-x-pos.png /root/rlgames-runs/mario-defaults:rlgames

Each RUN[:label] is a run directory with evals.csv (written by the in-training evaluations:
mean and std over their games, and the run's wall seconds when each began). Draws the mean
with a band of ± one std of `--key`: by default the score where the game reports one, else
the return; "x_pos" is Super Mario Bros' final x position. `--episodes` adds the training
episodes' mean of the last 100 (from episodes.csv), dashed. Prints the rows it drew.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlgames.training.logs import RECENT, read_rows
from rlgames.training.plots import moving_average


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="RUN_DIR[:label]")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--title", default="greedy evaluation")
    parser.add_argument("--key", choices=("auto", "return", "score", "x_pos"), default="auto")
    parser.add_argument("--episodes", action="store_true", help="add the training episodes")
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
        name = args.key
        if name == "auto":
            name = "score" if evals[0].get("score_mean") else "return"
        key, spread = ("mean", "std") if name == "return" else (f"{name}_mean", f"{name}_std")
        if not evals[0].get(key):
            raise SystemExit(f"{run}/evals.csv has no {key} column")
        steps = [int(r["step"]) for r in evals]
        minutes = [float(r["time_s"]) / 60 for r in evals]
        means = [float(r[key]) for r in evals]
        low = [m - float(r[spread]) for m, r in zip(means, evals, strict=True)]
        high = [m + float(r[spread]) for m, r in zip(means, evals, strict=True)]
        for s, t, m, r in zip(steps, minutes, means, evals, strict=True):
            print(f"{label or run.name}: step {s:>8} minute {t:6.1f} mean {m:7.1f} ± {r[spread]}")
        for ax, x in ((by_steps, steps), (by_time, minutes)):
            line = ax.plot(x, means, marker="o", label=f"{label or run.name}, greedy")[0]
            ax.fill_between(x, low, high, alpha=0.2, color=line.get_color())
        if args.episodes:
            episodes = read_rows(run / "episodes.csv")
            values = moving_average([float(r[name]) for r in episodes])
            for ax, x in (
                (by_steps, [int(r["step"]) for r in episodes]),
                (by_time, [float(r["time_s"]) / 60 for r in episodes]),
            ):
                ax.plot(x, values, ls="--", color=line.get_color(),
                        label=f"{label or run.name}, training (last {RECENT})")  # fmt: skip
    ylabel = {"x_pos": "final x position", "return": "return"}.get(name, "score")
    by_steps.set(xlabel="env steps", ylabel=f"{ylabel}, mean ± std", title="by steps")
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
