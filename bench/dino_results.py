"""Figures and tables of docs/results/dino.md from a run directory and `rlgames eval --csv` files.

    python bench/dino_results.py curves runs/dino-pixels docs/results/dino-curves.png
    python bench/dino_results.py table docs/results/dino-eval.csv [more.csv ...]

``curves`` draws the game score of every training episode against env steps and against
wall-clock minutes (with a 50-episode moving average, and the greedy evaluations of the run);
``table`` prints the mean, std, min, median and max of the score column as a Markdown row.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from rlgames.training.logs import summary
from rlgames.training.plots import moving_average


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def column(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows])


def curves(run: Path, out: Path, window: int = 50) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    episodes = read(run / "episodes.csv")
    evals = read(run / "evals.csv") if (run / "evals.csv").exists() else []
    step, score, minutes = (
        column(episodes, "step"),
        column(episodes, "score"),
        column(episodes, "time_s") / 60,
    )
    fig = Figure(figsize=(11, 3.8), tight_layout=True)
    FigureCanvasAgg(fig)
    for i, (x, label) in enumerate(((step, "env steps"), (minutes, "wall-clock minutes"))):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.plot(x, score, ".", ms=2, alpha=0.25, color="#4a7ab5", label="training episode")
        ax.plot(
            x, moving_average(score, window), color="#1f3d66", lw=1.5, label=f"mean of {window}"
        )
        if i == 0 and evals:
            ax.plot(
                column(evals, "step"),
                column(evals, "score_mean"),
                "o-",
                color="#b5544a",
                label="greedy eval (5 seeds)",
            )
        if i == 0:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:.0f}k"))
        ax.set_xlabel(label)
        ax.set_ylabel("score")
        ax.set_yscale("symlog", linthresh=100)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"ChromeDino-v0 training run {run.name}: game score per episode")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    print(f"wrote {out}: {len(episodes)} episodes, {minutes[-1]:.1f} min, {int(step[-1]):,} steps")


def table(paths: list[Path]) -> None:
    scores = np.concatenate([column(read(p), "score") for p in paths])
    stats = summary(scores)
    print("| games | mean | std | min | median | max |")
    print("|---:|---:|---:|---:|---:|---:|")
    cells = " | ".join(f"{stats[k]:,.0f}" for k in ("mean", "std", "min", "median", "max"))
    print(f"| {len(scores)} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("curves")
    c.add_argument("run", type=Path)
    c.add_argument("out", type=Path)
    t = sub.add_parser("table")
    t.add_argument("csv", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "curves":
        curves(args.run, args.out)
    else:
        table(args.csv)


if __name__ == "__main__":
    main()
