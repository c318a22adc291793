"""Small-cell suppression, with complementary suppression so no hidden cell can be worked
out from the totals.

A count of fewer than the threshold (but more than none) could point at a person: three
high-risk calls from a small district on one night. Such a cell is shown as suppressed
(primary suppression). A published total then gives it away if it is the only hidden cell
of its row or column, so one more cell of that line is hidden too (complementary
suppression): the smallest other non-zero cell, else a zero one, repeated until every line
holds no hidden cell or at least two. The same rule works for a one-way list with a total,
a two-way table with row and column totals, and the n-way tables of an export (each line is
the cells that differ in one dimension only, whose sum a coarser table publishes).

Zeros are not suppressed: "nobody from this district" identifies no one. Totals are counts
too, and a total under the threshold is suppressed like any cell.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

Key = tuple[str, ...]


def is_small(value: int, threshold: int) -> bool:
    """True for a count that must not be shown: more than none, fewer than the threshold."""
    return 0 < value < threshold


def suppress_total(value: int, threshold: int) -> int | None:
    """A single published count: itself, or None when it is too small to show."""
    return None if is_small(value, threshold) else value


def suppress(
    counts: Mapping[Key, int], axes: Sequence[Sequence[str]], threshold: int
) -> dict[Key, int | None]:
    """Every cell of the table spanned by `axes` (missing cells are zero), with the small
    ones and their complements replaced by None."""
    cells: dict[Key, int] = {key: counts.get(key, 0) for key in itertools.product(*axes)}
    hidden = {key for key, value in cells.items() if is_small(value, threshold)}
    lines = _lines(list(cells), len(axes))
    changed = True
    while changed:
        changed = False
        for line in lines:
            in_line = [key for key in line if key in hidden]
            if len(in_line) != 1:
                continue
            candidates = [key for key in line if key not in hidden]
            if not candidates:
                continue
            # The smallest non-zero cell hides least; a zero only when nothing else is left.
            nonzero = [key for key in candidates if cells[key] > 0]
            pool = nonzero or candidates
            complement = min(pool, key=lambda key: (cells[key], key))
            hidden.add(complement)
            changed = True
    return {key: (None if key in hidden else value) for key, value in cells.items()}


def _lines(keys: list[Key], dimensions: int) -> list[list[Key]]:
    """Groups of cells that differ in exactly one dimension (a row, a column, ...)."""
    lines: list[list[Key]] = []
    for dim in range(dimensions):
        groups: dict[Key, list[Key]] = {}
        for key in keys:
            groups.setdefault(key[:dim] + key[dim + 1 :], []).append(key)
        lines.extend(group for group in groups.values() if len(group) > 1)
    return lines
