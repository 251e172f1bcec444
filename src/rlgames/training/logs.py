"""Run logs people read: CSV always, TensorBoard when installed, and a progress bar.

`RunLogger` writes into one directory:

- ``episodes.csv``: one row per finished episode (step, episode, env, return, length, the
  game's own score where it reports one in ``info["score"]``, Super Mario Bros' final
  ``x_pos`` and ``flag_get`` (1 or 0), and wall seconds of training);
- ``metrics.csv``: one row per log interval (epsilon, loss, mean Q, steps/s, recent return,
  the replay's bytes in use);
- ``evals.csv``: one row per greedy evaluation (mean, std, min, median, max of the returns,
  the same of the game scores where the game reports them, of Mario's final x_pos and its
  flag rate, the run's wall seconds when it began and its own seconds);
- ``curves.png`` is drawn from these CSVs by `rlgames.training.plots.plot_run`;
- ``tensorboard/``: the same scalars, when the ``tensorboard`` package is installed.

`state_dict()` holds the row count of each CSV; `load_state_dict` on resume drops the rows
written after the checkpoint, so nothing is duplicated.
"""

from __future__ import annotations

import csv
import importlib.util
import time
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from rlgames.fileio import atomic_write

EPISODE_COLUMNS = (
    "step",
    "episode",
    "env",
    "return",
    "length",
    "score",
    "x_pos",
    "flag_get",
    "time_s",
)
METRIC_COLUMNS = (
    "step",
    "episodes",
    "time_s",
    "steps_per_s",
    "epsilon",
    "loss",
    "q_mean",
    "recent_return",
    "recent_length",
    "replay_bytes",
)
STATS = ("mean", "std", "min", "median", "max")
EVAL_COLUMNS = (
    "step",
    *STATS,
    *(f"score_{k}" for k in STATS),
    *(f"x_pos_{k}" for k in STATS),
    "flag_rate",
    "time_s",
    "eval_s",
)
TABLES = {"episodes": EPISODE_COLUMNS, "metrics": METRIC_COLUMNS, "evals": EVAL_COLUMNS}
RECENT = 100
"""Episodes in the "recent" return/length averages and the curves' moving average."""


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def summary(values: np.ndarray) -> dict[str, float]:
    """Mean, std, min, median and max of a non-empty array."""
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "median": float(np.median(v)),
        "max": float(v.max()),
    }


def _truncate(path: Path, columns: tuple[str, ...], keep: int | None) -> None:
    """Keep the first `keep` rows (all if None) under `columns`' header, new columns blank;
    rewritten whole (a kill meanwhile leaves the old file). Fewer rows than `keep` is a log
    that lost rows the checkpoint counts: a ValueError, as the resumed log would be wrong."""
    rows = read_rows(path)
    if keep is not None and len(rows) < keep:
        raise ValueError(
            f"{path} has {len(rows)} rows but the checkpoint was written after {keep}: the log "
            "lost rows (edited or truncated); put it back, or start a new run"
        )
    rows = rows if keep is None else rows[:keep]
    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="", extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _header(path: Path) -> list[str]:
    with path.open(newline="") as f:
        return next(csv.reader(f), [])


class RunLogger:
    """CSV + TensorBoard + tqdm for one run directory."""

    def __init__(
        self,
        log_dir: str | Path,
        *,
        tensorboard: bool | None = None,
        progress: bool = True,
        total_steps: int | None = None,
        start_step: int = 0,
    ) -> None:
        self.dir = Path(log_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, Any] = {}
        self._writers: dict[str, csv.DictWriter] = {}
        self.rows: dict[str, int] = {}
        self._open(None)
        self._elapsed0 = 0.0
        self._t0 = time.perf_counter()
        self._last_step, self._last_t = start_step, self._t0
        self._tb = None
        if tensorboard is None:
            tensorboard = importlib.util.find_spec("tensorboard") is not None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.dir / "tensorboard"))
        self._bar = None
        if progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def _open(self, keep: dict[str, int] | None) -> None:
        """(Re)open the CSVs for appending; with `keep`, each is first cut to that many rows."""
        for f in self._files.values():
            f.close()
        for name, columns in TABLES.items():
            path = self.dir / f"{name}.csv"
            if keep is not None:
                _truncate(path, columns, keep.get(name, 0))
            elif path.exists() and _header(path) not in (list(columns), []):
                _truncate(path, columns, None)  # written by an older version: widen it
            self.rows[name] = len(read_rows(path))
            fresh = not path.exists() or path.stat().st_size == 0
            f = path.open("a", newline="")
            writer = csv.DictWriter(f, fieldnames=columns)
            if fresh:
                writer.writeheader()
            self._files[name], self._writers[name] = f, writer
        episodes = read_rows(self.dir / "episodes.csv")
        self._returns = deque((float(r["return"]) for r in episodes), maxlen=RECENT)
        self._lengths = deque((int(r["length"]) for r in episodes), maxlen=RECENT)

    def state_dict(self) -> dict[str, Any]:
        """Rows in each CSV (flushed to disk) and the training seconds so far."""
        return {"rows": self.positions(), "elapsed_s": self.elapsed_s}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Go back to a saved position: rows written after it are dropped, then appended to."""
        self._open(dict(state["rows"]))
        self._elapsed0, self._t0 = float(state["elapsed_s"]), time.perf_counter()

    @property
    def elapsed_s(self) -> float:
        """Wall seconds of training in this run, resumed sessions included."""
        return self._elapsed0 + time.perf_counter() - self._t0

    @property
    def recent_return(self) -> float:
        """Mean return of the last 100 episodes (nan before the first)."""
        return float(np.mean(self._returns)) if self._returns else float("nan")

    def episode(
        self,
        step: int,
        env_index: int,
        ret: float,
        length: int,
        score: float | None = None,
        info: dict[str, float] | None = None,
    ) -> None:
        """Record one finished episode (`score`: the game's own, when it reports one; `info`:
        Mario's "x_pos" and "flag_get", when the game reports them)."""
        self._returns.append(float(ret))
        self._lengths.append(int(length))
        self.rows["episodes"] += 1
        n = self.rows["episodes"]
        row = {
            "step": step,
            "episode": n,
            "env": env_index,
            "return": ret,
            "length": length,
            "score": "" if score is None else score,
            "x_pos": (info or {}).get("x_pos", ""),
            "flag_get": (info or {}).get("flag_get", ""),
            "time_s": round(self.elapsed_s, 3),
        }
        self._writers["episodes"].writerow(row)
        if self._tb is not None:
            self._tb.add_scalar("episode/return", ret, step)
            self._tb.add_scalar("episode/length", length, step)
            if score is not None:
                self._tb.add_scalar("episode/score", score, step)

    def metrics(
        self, step: int, epsilon: float, loss: float, q_mean: float, replay_bytes: int = 0
    ) -> dict[str, float]:
        """Write one metrics row (steps/s measured since the previous row; the replay's bytes
        in use) and return it."""
        now = time.perf_counter()
        rate = (step - self._last_step) / max(now - self._last_t, 1e-9)
        self._last_step, self._last_t = step, now
        row = {
            "step": step,
            "episodes": self.rows["episodes"],
            "time_s": round(self.elapsed_s, 3),
            "steps_per_s": round(rate, 1),
            "epsilon": round(epsilon, 5),
            "loss": loss,
            "q_mean": q_mean,
            "recent_return": self.recent_return,
            "recent_length": float(np.mean(self._lengths)) if self._lengths else float("nan"),
            "replay_bytes": int(replay_bytes),
        }
        self._writers["metrics"].writerow(row)
        self.rows["metrics"] += 1
        self._files["metrics"].flush()
        self._files["episodes"].flush()
        if self._tb is not None:
            for key in (
                "steps_per_s",
                "epsilon",
                "loss",
                "q_mean",
                "recent_return",
                "replay_bytes",
            ):
                self._tb.add_scalar(f"train/{key}", row[key], step)
        return row

    def evaluation(
        self,
        step: int,
        returns: np.ndarray,
        scores: np.ndarray | None = None,
        *,
        started_s: float | None = None,
        info: dict[str, np.ndarray] | None = None,
    ) -> dict[str, float]:
        """Write one row of greedy-evaluation statistics (of returns, of game scores when
        given, of `info`'s "x_pos" and the mean of its "flag_get" when given) and return it.
        `started_s` is `elapsed_s` when the evaluation began (default: now): the row's
        ``time_s``, the wall seconds the agent had trained (earlier evaluations included);
        ``eval_s`` is the evaluation's own."""
        now = self.elapsed_s
        started = now if started_s is None else float(started_s)
        row: dict[str, Any] = {"step": step, **summary(returns)}
        if scores is not None and len(scores):
            row.update({f"score_{k}": v for k, v in summary(scores).items()})
        info = info or {}
        if len(info.get("x_pos", ())):
            row.update({f"x_pos_{k}": v for k, v in summary(info["x_pos"]).items()})
        if len(info.get("flag_get", ())):
            row["flag_rate"] = float(np.mean(info["flag_get"]))
        row.update(time_s=round(started, 3), eval_s=round(now - started, 3))
        self._writers["evals"].writerow(row)
        self.rows["evals"] += 1
        self._files["evals"].flush()
        if self._tb is not None:
            self._tb.add_scalar("eval/mean_return", row["mean"], step)
            if "score_mean" in row:
                self._tb.add_scalar("eval/mean_score", row["score_mean"], step)
            if "x_pos_mean" in row:
                self._tb.add_scalar("eval/mean_x_pos", row["x_pos_mean"], step)
            if "flag_rate" in row:
                self._tb.add_scalar("eval/flag_rate", row["flag_rate"], step)
        return row

    def progress(self, n: int, epsilon: float, total_steps: int | None = None) -> None:
        """Advance the progress bar by n env steps and show recent return and epsilon."""
        if self._bar is not None:
            if total_steps is not None and total_steps != self._bar.total:
                self._bar.total = total_steps
            postfix = {"ret": f"{self.recent_return:.1f}", "eps": f"{epsilon:.3f}"}
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(n)

    def positions(self) -> dict[str, int]:
        """Rows in each CSV, flushed to disk: what a checkpoint records to resume from."""
        for f in self._files.values():
            f.flush()
        if self._tb is not None:
            self._tb.flush()
        return dict(self.rows)

    def close(self) -> None:
        """Flush and close files, the TensorBoard writer and the progress bar."""
        for f in self._files.values():
            if not f.closed:
                f.close()
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None
