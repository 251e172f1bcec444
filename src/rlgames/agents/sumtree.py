"""A sum-tree over a fixed number of non-negative leaves, for proportional prioritized replay.

Each internal node holds the sum of its two children, so the total is the root and the leaf
where a running (prefix) sum crosses a value is found by one descent. Every operation works
on many leaves or many prefix sums at once, one numpy step per tree level (no loop over items):
setting k leaves and finding k prefix sums each cost O(k log n).

Layout: a complete binary tree in one float64 array, the root at index 1, the children of
node i at 2i and 2i + 1, the leaves at ``[size, size + n_leaves)`` with ``size`` the power of
two at or above ``n_leaves`` (padding leaves stay 0). A parent is always recomputed as the sum
of its two children, never adjusted by a difference, so a tree rebuilt from its leaves is
bit-identical to one grown by updates, and no rounding drift accumulates.
"""

from __future__ import annotations

import numpy as np


class SumTree:
    """Sums over ``n_leaves`` non-negative float64 leaves, all 0 at first."""

    def __init__(self, n_leaves: int) -> None:
        if isinstance(n_leaves, bool) or not isinstance(n_leaves, (int, np.integer)):
            raise ValueError(f"n_leaves must be an integer, got {n_leaves!r}")
        if n_leaves < 1:
            raise ValueError(f"n_leaves must be at least 1, got {n_leaves}")
        self.n_leaves = int(n_leaves)
        self._depth = max(0, (self.n_leaves - 1).bit_length())  # levels below the root
        self._size = 1 << self._depth
        self._tree = np.zeros(2 * self._size, dtype=np.float64)

    @property
    def total(self) -> float:
        """Sum of all leaves."""
        return float(self._tree[1])

    @property
    def leaves(self) -> np.ndarray:
        """The leaf values, float64 (n_leaves,), read-only view."""
        view = self._tree[self._size : self._size + self.n_leaves]
        view.flags.writeable = False
        return view

    @property
    def nbytes(self) -> int:
        """Bytes of the tree array (leaves, internal nodes and padding)."""
        return int(self._tree.nbytes)

    def get(self, ids: np.ndarray) -> np.ndarray:
        """Leaf values at ids, float64."""
        return self._tree[self._size + np.asarray(ids, dtype=np.int64)]

    def set(self, ids: np.ndarray, values: np.ndarray) -> None:
        """Set leaves ``ids`` (int, in range) to ``values`` (finite, >= 0: the caller checks),
        then recompute their ancestors level by level. A repeated id takes its last value."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), ids.shape)
        if ids.size > 1:  # last occurrence wins: unique over the reversed order
            ids, last = np.unique(ids[::-1], return_index=True)
            values = values[::-1][last]
        nodes = ids + self._size
        self._tree[nodes] = values
        for _ in range(self._depth):
            nodes >>= 1  # repeated parents get the same sum: no need to deduplicate
            self._tree[nodes] = self._tree[2 * nodes] + self._tree[2 * nodes + 1]

    def set_all(self, values: np.ndarray) -> None:
        """Replace every leaf (float64 (n_leaves,), finite, >= 0) and rebuild all sums."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (self.n_leaves,):
            raise ValueError(f"set_all needs {self.n_leaves} values, got shape {values.shape}")
        tree, size = self._tree, self._size
        tree[size : size + self.n_leaves] = values
        tree[size + self.n_leaves :] = 0.0
        while size > 1:
            half = size // 2
            tree[half:size] = tree[size : 2 * size : 2] + tree[size + 1 : 2 * size : 2]
            size = half

    def find(self, prefix_sums: np.ndarray) -> np.ndarray:
        """For each value u, the leaf i with ``sum(leaves[:i]) <= u < sum(leaves[:i + 1])``,
        int64. All descend together, one level per step. A u at or past the total (rounding)
        gives the last non-zero leaf; a zero leaf is never returned while the total is > 0."""
        u = np.array(prefix_sums, dtype=np.float64).reshape(-1)  # a copy: it is consumed
        nodes = np.ones(len(u), dtype=np.int64)
        tree = self._tree
        for _ in range(self._depth):
            left = 2 * nodes
            left_sum = tree[left]
            right = (u >= left_sum) & (tree[left + 1] > 0)
            u -= np.where(right, left_sum, 0.0)
            nodes = left + right
        return nodes - self._size
