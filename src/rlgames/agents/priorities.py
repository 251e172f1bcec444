"""Proportional priorities over replay slots (Schaul et al. 2016, "Prioritized Experience
Replay"): slot i is drawn with probability P(i) = p_i / sum_k p_k, where p_i is
``(priority + eps) ** alpha`` of the learner's last priority for it (|TD error|, or the
distributional loss). New transitions enter at the largest p ever stored, so each is drawn
soon at least once. Importance-sampling weights ``(N * P(i)) ** -beta`` correct the bias.

Only transitions that can be sampled now have p > 0: the replay enters a transition once
its n steps are stored (or its episode ended sooner) and clears it when its slot or the
oldest frame of its stack is overwritten. It changes slots on every env step and samples
once per gradient step, so the changes are queued and applied to the sum-tree in one
vectorised pass before it is read.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rlgames.agents.sumtree import SumTree

_QUEUE_LIMIT = 1 << 16  # queued slot changes applied at once beyond this many


class Priorities:
    """The p_i of ``n_slots`` replay slots (0 where no transition starts) and their max."""

    def __init__(self, n_slots: int, alpha: float, eps: float) -> None:
        if not (isinstance(alpha, numbers.Real) and 0.0 <= alpha <= 1.0):
            raise ValueError(f"alpha must be between 0 and 1 (0: uniform), got {alpha!r}")
        if not (isinstance(eps, numbers.Real) and 0.0 < eps < 1.0):
            raise ValueError(f"priority_eps must be a small positive number, got {eps!r}")
        self.alpha, self.eps = float(alpha), float(eps)
        self.tree = SumTree(n_slots)
        self.max = 1.0  # largest p stored so far; the first transitions enter at 1
        self._queued_ids: list[int] = []
        self._queued_values: list[float] = []

    def enter(self, slots: np.ndarray) -> None:
        """Complete transitions start at these slots now: they enter at the current max."""
        self._queued_ids.extend(slots.tolist())
        self._queued_values.extend([self.max] * len(slots))

    def clear(self, slot: int) -> None:
        """No transition that can be sampled starts at slot any more (overwritten, or its
        stack reaches an overwritten frame) until `enter` says so."""
        self._queued_ids.append(slot)
        self._queued_values.append(0.0)
        if len(self._queued_ids) >= _QUEUE_LIMIT:
            self.flush()

    def flush(self) -> None:
        """Apply the queued slot changes to the tree, in the order they were made."""
        if self._queued_ids:
            self.tree.set(np.array(self._queued_ids), np.array(self._queued_values))
            self._queued_ids, self._queued_values = [], []

    def update(self, slots: np.ndarray, priorities: np.ndarray) -> None:
        """Store ``(priority + eps) ** alpha`` at slots (checked by the caller: in range,
        finite, >= 0) that can be sampled now (p > 0); the last of a repeated slot counts."""
        self.flush()
        live = self.tree.get(slots) > 0
        slots, priorities = slots[live], priorities[live]
        values = (priorities.astype(np.float64) + self.eps) ** self.alpha
        self.tree.set(slots, values)
        if len(values):
            self.max = max(self.max, float(values.max()))

    def draw(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        """Slots drawn in proportion to p, one from each of batch_size equal strata of the
        total (stratified, as in the paper); int64 (batch_size,)."""
        self.flush()
        total = self.tree.total
        u = (np.arange(batch_size) + rng.random(batch_size)) * (total / batch_size)
        return self.tree.find(u)

    def redraw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n slots drawn in proportion to p over the whole total (no strata)."""
        return self.tree.find(rng.random(n) * self.tree.total)

    def weights(self, slots: np.ndarray, n_transitions: int, beta: float) -> np.ndarray:
        """Importance-sampling weights ``(N * P(i)) ** -beta`` of drawn slots, divided by their
        batch maximum (as Dopamine does; the paper divides by the maximum over the whole
        memory), so they only scale the loss down; float32."""
        p = self.tree.get(slots) / self.tree.total
        w = (n_transitions * p) ** -float(beta)
        return (w / w.max()).astype(np.float32)

    # -------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, np.ndarray]:
        self.flush()
        return {
            "priorities": self.tree.leaves.copy(),
            "max_priority": np.array(self.max, dtype=np.float64),
            "priority_settings": np.array([self.alpha, self.eps], dtype=np.float64),
        }

    def checked_state(self, state: dict[str, Any], starts: np.ndarray) -> tuple:
        """(leaves, max) of a saved state, ready for `load`, after checking them against the
        slots where a transition starts (bool (n_slots,)); else ValueError naming the fault."""
        if "priorities" not in state:
            raise ValueError(
                "the saved replay has no priorities (it was built with prioritized=False): "
                "build the buffer with prioritized=False to load it"
            )
        settings = np.asarray(state.get("priority_settings", [np.nan, np.nan]), np.float64)
        if settings.shape != (2,) or (settings != [self.alpha, self.eps]).any():
            raise ValueError(
                f"the saved replay's priorities were stored with (alpha, priority_eps) = "
                f"{settings.tolist()}, this buffer uses {[self.alpha, self.eps]}: build it "
                "with the saved settings"
            )
        leaves = np.asarray(state["priorities"])
        n = self.tree.n_leaves
        if leaves.dtype != np.float64 or leaves.shape != (n,):
            raise ValueError(
                f"replay array 'priorities' is {leaves.dtype}{list(leaves.shape)} in the saved "
                f"state, expected float64[{n}]"
            )
        if not np.isfinite(leaves).all() or (leaves < 0).any() or (leaves[~starts] != 0).any():
            raise ValueError(
                "replay 'priorities' must be finite, >= 0, and 0 where no transition starts"
            )
        top = float(np.asarray(state.get("max_priority", np.nan)))
        if not (np.isfinite(top) and top > 0 and top >= leaves.max(initial=0.0)):
            raise ValueError(f"replay 'max_priority' {top} is not the largest priority stored")
        return leaves, top

    def load(self, checked: tuple) -> None:
        leaves, top = checked
        self._queued_ids, self._queued_values = [], []
        self.tree.set_all(leaves)
        self.max = top
