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


@dataclass(frozen=True)
class ExponentialSchedule:
    """``start`` at step 0, multiplied by the same factor each step so that it reaches ``end``
    at step ``steps``, then ``end`` for ever: ``start * (end / start) ** (step / steps)``. The
    PyTorch Mario tutorial's epsilon (x 0.99999975 a step, down to 0.1) is ``(1.0, 0.1,
    9_210_340)``. ``start`` and ``end`` are > 0 (``steps`` 0 or ``start`` 0: ``end`` from the
    first step)."""

    start: float
    end: float
    steps: int

    def __call__(self, step: int) -> float:
        if self.steps <= 0 or self.start <= 0 or step >= self.steps:
            return self.end
        return self.start * (self.end / self.start) ** (step / self.steps)
