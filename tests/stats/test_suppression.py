"""Small-cell suppression and its complementary cells, totals included."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest

from hotline.stats.suppression import TOTAL, Key, suppress, suppress_total


def _inner(cells: dict[Key, int | None], axis: Sequence[str]) -> list[int | None]:
    return [cells[(k,)] for k in axis]


@pytest.mark.parametrize(
    ("values", "shown", "total"),
    [
        # Nothing small: everything shows, the total too.
        ([10, 7, 0], [10, 7, 0], 17),
        # One small cell beside a total: the smallest other non-zero cell hides with it.
        ([10, 3, 7], [10, None, None], 20),
        # Two small cells hide each other: no complement needed.
        ([10, 3, 2], [10, None, None], 15),
        # A small cell alone: the total is small too, and hides with it.
        ([0, 4, 0], [0, None, 0], None),
        # Zero is not small.
        ([0, 0, 9], [0, 0, 9], 9),
    ],
)
def test_one_way_list_with_a_total(
    values: list[int], shown: list[int | None], total: int | None
) -> None:
    """A list published with its total never leaves a single hidden cell."""
    axis = [f"c{i}" for i in range(len(values))]
    cells = suppress({(k,): v for k, v in zip(axis, values, strict=True)}, [axis], 5)
    assert _inner(cells, axis) == shown
    assert cells[(TOTAL,)] == total


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
    assert cells[("a", TOTAL)] == 22 and cells[(TOTAL, TOTAL)] == 79


def test_a_decided_total_is_kept_and_protected() -> None:
    """A total a coarser table hid stays hidden, and its line hides a second cell so the
    finer table does not add it back up."""
    days, outcomes = ["d1", "d2"], ["answered", "waiting"]
    counts = {("d1", "answered"): 9, ("d2", "answered"): 8, ("d2", "waiting"): 6}
    cells = suppress(counts, [days, outcomes], 5, {(TOTAL, "answered"): None})
    assert cells[(TOTAL, "answered")] is None
    assert [cells[(d, "answered")] for d in days].count(None) >= 1
    cells = suppress(counts, [days, outcomes], 5, {(TOTAL, "waiting"): 6})
    assert cells == {**cells, (TOTAL, "waiting"): 6}


def test_threshold_is_configurable() -> None:
    """A stricter threshold hides more; the same counts at threshold 3 hide nothing."""
    counts = {("x",): 3, ("y",): 4, ("z",): 8}
    assert _inner(suppress(counts, [["x", "y", "z"]], 3), ["x", "y", "z"]) == [3, 4, 8]
    assert _inner(suppress(counts, [["x", "y", "z"]], 10), ["x", "y", "z"]) == [None] * 3
    assert suppress_total(4, 5) is None and suppress_total(0, 5) == 0
    assert suppress_total(5, 5) == 5


def _worked_out(cells: dict[Key, int | None], dims: int) -> set[Key]:
    """What an attacker gets by subtracting known cells from known totals, line after
    line, chains included (written apart from the code under test)."""
    known = {key: value for key, value in cells.items() if value is not None}
    lines: dict[tuple[int, Key], list[Key]] = {}
    for key in cells:
        for dim in range(dims):
            lines.setdefault((dim, key[:dim] + key[dim + 1 :]), []).append(key)
    found: set[Key] = set()
    progress = True
    while progress:
        progress = False
        for line in lines.values():
            unknown = [key for key in line if key not in known]
            if len(unknown) == 1:
                found.add(unknown[0])
                known[unknown[0]] = 0  # its value is now known (which value is irrelevant)
                progress = True
    return found


@pytest.mark.parametrize("seed", range(60))
def test_no_small_cell_can_be_worked_out_from_totals(seed: int) -> None:
    """Random three-way tables with all their totals: no small count shows, and no small
    count can be worked out by subtracting what shows from a total, even in a chain."""
    rng = random.Random(seed)
    axes = [[f"d{i}" for i in range(rng.randint(1, 5))] for _ in range(3)]
    counts = {k: rng.choice([0, 0, 0, 1, 2, 3, 4, 5, 8, 13, 40])
              for k in itertools.product(*axes)}
    cells = suppress(counts, axes, 5)
    for key, value in cells.items():
        assert value is None or not (0 < value < 5), key
        if value is not None and TOTAL not in key:
            assert value == counts[key]
    small = {key for key in cells if TOTAL not in key and 0 < counts[key] < 5}
    assert not (_worked_out(cells, 3) & small), seed
