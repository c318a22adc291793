"""Small-cell suppression and its complementary cells."""

from __future__ import annotations

import itertools
import random

import pytest

from hotline.stats.suppression import suppress, suppress_total


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        # Nothing small: everything shows.
        ([10, 7, 0], [10, 7, 0]),
        # One small cell beside a total: the smallest other non-zero cell hides with it.
        ([10, 3, 7], [10, None, None]),
        # Two small cells hide each other: no complement needed.
        ([10, 3, 2], [10, None, None]),
        # Only zeros beside it: a zero hides with it (the total alone no longer tells).
        ([0, 4, 0], [None, None, 0]),
        # Zero is not small.
        ([0, 0, 9], [0, 0, 9]),
    ],
)
def test_one_way_list_with_a_total(values: list[int], shown: list[int | None]) -> None:
    """A list published with its total never leaves a single hidden cell."""
    axis = [f"c{i}" for i in range(len(values))]
    cells = suppress({(k,): v for k, v in zip(axis, values, strict=True)}, [axis], 5)
    assert [cells[(k,)] for k in axis] == shown


def test_two_way_table_hides_complements_in_rows_and_columns() -> None:
    """A district x outcome table with row and column totals: the small cell, a second cell
    in its row, and cells in both columns touched, so no total gives one away."""
    rows, cols = ["a", "b", "c"], ["answered", "abandoned"]
    counts = {("a", "answered"): 20, ("a", "abandoned"): 2, ("b", "answered"): 12,
              ("b", "abandoned"): 6, ("c", "answered"): 30, ("c", "abandoned"): 9}
    cells = suppress(counts, [rows, cols], 5)
    assert cells[("a", "abandoned")] is None
    assert cells[("a", "answered")] is None  # row a: the total 22 would tell
    assert cells[("b", "abandoned")] is None  # column abandoned: the smallest other (6)
    assert cells[("b", "answered")] is None  # ... and then row b needs a second one
    assert cells[("c", "answered")] == 30 and cells[("c", "abandoned")] == 9


def test_threshold_is_configurable() -> None:
    """A stricter threshold hides more; the same counts at threshold 3 hide nothing."""
    counts = {("x",): 3, ("y",): 4, ("z",): 8}
    assert suppress(counts, [["x", "y", "z"]], 3) == {("x",): 3, ("y",): 4, ("z",): 8}
    assert suppress(counts, [["x", "y", "z"]], 10) == {("x",): None, ("y",): None, ("z",): None}
    assert suppress_total(4, 5) is None and suppress_total(0, 5) == 0
    assert suppress_total(5, 5) == 5


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_cell_can_be_worked_out_from_totals(seed: int) -> None:
    """Random three-way tables: every line (cells differing in one dimension, whose sum a
    coarser table publishes) hides no cell or at least two, and no small cell shows."""
    rng = random.Random(seed)
    axes = [[f"d{i}" for i in range(rng.randint(1, 5))] for _ in range(3)]
    counts = {k: rng.choice([0, 0, 1, 2, 3, 4, 5, 8, 13, 40]) for k in itertools.product(*axes)}
    cells = suppress(counts, axes, 5)
    for key, value in cells.items():
        assert value is None or value == counts[key]
        assert not (value is not None and 0 < value < 5)
    for dim in range(3):
        for fixed in itertools.product(*(a for i, a in enumerate(axes) if i != dim)):
            line = [cells[(*fixed[:dim], v, *fixed[dim:])] for v in axes[dim]]
            if len(line) > 1:
                assert sum(1 for c in line if c is None) != 1, (line, seed)
