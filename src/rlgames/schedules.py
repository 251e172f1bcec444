"""Schedules of a setting over env steps: epsilon for exploration, the learning rate."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinearSchedule:
    """``start`` at step 0, moving linearly to ``end`` at step ``steps``, then ``end`` for ever
    (``steps`` 0: ``end`` from the first step)."""

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        fraction = min(1.0, step / self.steps) if self.steps > 0 else 1.0
        return self.start + fraction * (self.end - self.start)
