"""SumTree against hand-computed sums, lookups and sampling proportions."""

from __future__ import annotations

import numpy as np
import pytest

from rlgames.agents.sumtree import SumTree


def tree_of(values) -> SumTree:
    tree = SumTree(len(values))
    tree.set(np.arange(len(values)), values)
    return tree


def test_the_total_is_the_sum_of_the_leaves_after_each_update():
    tree = SumTree(5)
    assert tree.total == 0.0
    tree.set([0, 3], [1.0, 2.5])
    assert tree.total == 3.5
    tree.set([3], [0.5])  # overwrite: 1 + 0.5
    assert tree.total == 1.5
    tree.set([4, 1, 2], [4.0, 0.25, 0.25])
    assert tree.total == 6.0
    np.testing.assert_array_equal(tree.leaves, [1.0, 0.25, 0.25, 0.5, 4.0])
    np.testing.assert_array_equal(tree.get([4, 0]), [4.0, 1.0])


def test_a_repeated_id_in_one_set_takes_its_last_value():
    tree = SumTree(4)
    tree.set([2, 1, 2, 2], [5.0, 1.0, 7.0, 3.0])
    np.testing.assert_array_equal(tree.leaves, [0.0, 1.0, 3.0, 0.0])
    assert tree.total == 4.0


def test_find_returns_the_leaf_whose_running_sum_range_holds_each_prefix_sum():
    # Leaves 1, 2, 3, 4: leaf 0 covers [0, 1), leaf 1 [1, 3), leaf 2 [3, 6), leaf 3 [6, 10).
    tree = tree_of([1.0, 2.0, 3.0, 4.0])
    u = [0.0, 0.999, 1.0, 2.5, 2.999, 3.0, 5.5, 6.0, 9.999]
    np.testing.assert_array_equal(tree.find(u), [0, 0, 1, 1, 1, 2, 2, 3, 3])


def test_find_skips_zero_leaves_and_a_prefix_sum_at_the_total_gives_the_last_nonzero_leaf():
    # Leaves 0, 2, 0, 0, 3, 0 (padded to 8): leaf 1 covers [0, 2), leaf 4 [2, 5).
    tree = tree_of([0.0, 2.0, 0.0, 0.0, 3.0, 0.0])
    np.testing.assert_array_equal(tree.find([0.0, 1.99, 2.0, 4.99, 5.0, 7.0]), [1, 1, 4, 4, 4, 4])


def test_a_single_leaf_tree_finds_that_leaf():
    tree = tree_of([0.5])
    assert tree.total == 0.5
    np.testing.assert_array_equal(tree.find([0.0, 0.3]), [0, 0])


def test_stratified_prefix_sums_draw_each_leaf_exactly_in_proportion():
    # Ten strata over a total of 10, one midpoint each: leaf i is hit leaves[i] times.
    tree = tree_of([1.0, 2.0, 3.0, 4.0])
    counts = np.bincount(tree.find(np.arange(10) + 0.5), minlength=4)
    np.testing.assert_array_equal(counts, [1, 2, 3, 4])


def test_uniform_prefix_sums_sample_leaves_in_proportion_to_their_values():
    values = np.array([5.0, 0.0, 1.0, 3.0, 0.5, 0.5, 10.0])  # 7 leaves, padded to 8
    tree = tree_of(values)
    rng = np.random.default_rng(0)
    draws = 200_000
    counts = np.bincount(tree.find(rng.random(draws) * tree.total), minlength=len(values))
    assert counts[1] == 0  # a zero leaf is never drawn
    expected = draws * values / values.sum()
    nonzero = expected > 0
    chi2 = (((counts - expected)[nonzero]) ** 2 / expected[nonzero]).sum()
    assert chi2 < 22.5  # chi-square, 5 degrees of freedom: p = 0.0004


def test_set_all_rebuilds_the_same_tree_bit_for_bit_as_updates_do():
    rng = np.random.default_rng(1)
    grown = SumTree(37)
    for _ in range(50):
        ids = rng.integers(0, 37, size=5)
        grown.set(ids, rng.random(5) ** 3)
    rebuilt = SumTree(37)
    rebuilt.set_all(grown.leaves.copy())
    assert rebuilt.total == grown.total
    u = rng.random(1000) * grown.total
    np.testing.assert_array_equal(rebuilt.find(u), grown.find(u))
    np.testing.assert_array_equal(rebuilt._tree, grown._tree)


def test_a_large_tree_matches_a_cumulative_sum_lookup():
    rng = np.random.default_rng(2)
    values = rng.random(100_003) * (rng.random(100_003) < 0.7)
    tree = tree_of(values)
    np.testing.assert_allclose(tree.total, values.sum(), rtol=1e-12)
    u = np.sort(rng.random(10_000)) * values.sum() * (1 - 1e-9)
    expected = np.searchsorted(np.cumsum(values), u, side="right")
    found = tree.find(u)
    # Rounding of the two summation orders can move a u that lies on a boundary by one leaf.
    assert (found == expected).mean() > 0.999
    assert (values[found] > 0).all()


def test_bad_sizes_are_refused_by_name():
    with pytest.raises(ValueError, match="n_leaves must be at least 1"):
        SumTree(0)
    with pytest.raises(ValueError, match="n_leaves must be an integer"):
        SumTree(2.5)
    with pytest.raises(ValueError, match="set_all needs 3 values"):
        SumTree(3).set_all(np.ones(4))
