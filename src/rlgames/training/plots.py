"""Learning curves drawn from a run directory's CSV files: `plot_run`.

It reads only ``episodes.csv``, ``metrics.csv`` and ``evals.csv``, so it draws a run that is
still training, one that finished, or one copied from another machine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rlgames.fileio import atomic_write
from rlgames.training.logs import RECENT, read_rows


def moving_average(values: np.ndarray, window: int = RECENT) -> np.ndarray:
    """Mean of the last `window` values at each position (fewer at the start), NaNs skipped
    (loss and mean Q are NaN before learning starts); NaN where the window holds none."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    present = ~np.isnan(values)
    sums = np.cumsum(np.insert(np.where(present, values, 0.0), 0, 0.0))
    counts = np.cumsum(np.insert(present, 0, False).astype(np.int64))
    idx = np.arange(1, values.size + 1)
    lo = np.maximum(idx - window, 0)
    n = counts[idx] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[idx] - sums[lo]) / n, np.nan)


def _column(rows: list[dict[str, str]], key: str) -> np.ndarray:
    return np.array([float(r[key]) if r.get(key) else np.nan for r in rows], dtype=np.float64)


def plot_run(run_dir: str | Path, path: str | Path | None = None) -> Path:
    """Draw return (and the game's score, Mario's final x position where reported), episode
    length, loss and mean Q against env steps, each with a moving average, and the greedy
    evaluations; write the PNG to `path` (default ``run_dir/curves.png``) and return its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    run_dir = Path(run_dir)
    episodes = read_rows(run_dir / "episodes.csv")
    metrics = read_rows(run_dir / "metrics.csv")
    evals = read_rows(run_dir / "evals.csv")
    panels = [
        ("Episode return", episodes, "return"),
        ("Episode length", episodes, "length"),
        ("Loss", metrics, "loss"),
        ("Mean Q", metrics, "q_mean"),
    ]
    if episodes and np.isfinite(_column(episodes, "score")).any():
        panels.insert(1, ("Game score", episodes, "score"))
    if episodes and np.isfinite(_column(episodes, "x_pos")).any():  # Super Mario Bros
        panels.insert(1, ("Final x position", episodes, "x_pos"))
    cols = (len(panels) + 1) // 2
    fig = Figure(figsize=(5.5 * cols, 7), tight_layout=True)
    FigureCanvasAgg(fig)
    for i, (title, rows, key) in enumerate(panels):
        ax = fig.add_subplot(2, cols, i + 1)
        ax.set_title(title)
        ax.set_xlabel("env steps")
        if rows:
            x, y = _column(rows, "step"), _column(rows, key)
            dots = "." if len(x) < 20 else None  # a series of one row draws no line
            ax.plot(x, y, alpha=0.3, lw=0.8, marker=dots, label="raw")
            window = RECENT if rows is episodes else 10
            ax.plot(x, moving_average(y, window), lw=1.5, label=f"mean of last {window}")
        if key in ("return", "score", "x_pos") and evals:
            name = "mean" if key == "return" else f"{key}_mean"
            ax.plot(_column(evals, "step"), _column(evals, name), "o-", label="greedy eval")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=8)
    path = Path(path) if path is not None else run_dir / "curves.png"
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=80)
    return path
