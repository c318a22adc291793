"""Small-cell suppression, with complementary suppression so no hidden cell can be worked
out from the totals.

A count of fewer than the threshold (but more than none) could point at a person: three
high-risk calls from a small district on one night. Such a cell is hidden (primary
suppression). A published total would give it away if it were the only hidden cell of its
row or column, so more cells are hidden (complementary suppression) until every line holds
no hidden cell or at least two.

A table is suppressed together with its totals: each axis gets a `TOTAL` category, so the
row totals, column totals and grand total are cells of the same table, and a line (the
cells that differ in one dimension only) always includes its total. A total under the
threshold is hidden like any cell, and hiding a total counts in the lines it belongs to.
The complement chosen is the smallest other non-zero cell of the line (it hides least),
else a zero one. When no line holds exactly one hidden cell, no cell can be found by
subtracting the others from a total, and so no chain of such subtractions can start.

Tables published side by side share totals (the per-day table and the per-hour table both
end in the same totals per outcome). A finer table takes the totals a coarser one already
decided as `fixed`: it never reveals one the coarser table hid, nor hides one it showed,
and picks its complements among its own cells.

Zeros are not hidden for themselves: "nobody from this district" identifies no one.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence

Key = tuple[str, ...]
TOTAL = "*"


def is_small(value: int, threshold: int) -> bool:
    """True for a count that must not be shown: more than none, fewer than the threshold."""
    return 0 < value < threshold


def suppress_total(value: int, threshold: int) -> int | None:
    """A single published count with nothing published beside it: itself, or None."""
    return None if is_small(value, threshold) else value


def suppress(
    counts: Mapping[Key, int],
    axes: Sequence[Sequence[str]],
    threshold: int,
    fixed: Mapping[Key, int | None] | None = None,
) -> dict[Key, int | None]:
    """Every cell of the table spanned by `axes`, totals included (`TOTAL` in a position
    marks the sum over that axis), with hidden cells as None.

    `counts` holds the inner cells (missing ones are zero). `fixed` holds cells, usually
    totals, whose shown/hidden state a coarser table already decided (None = hidden).
    """
    dims = len(axes)
    full_axes = [[*axis, TOTAL] for axis in axes]
    values: dict[Key, int] = dict.fromkeys(itertools.product(*full_axes), 0)
    for key, count in counts.items():
        if not count:
            continue
        for mask in itertools.product((False, True), repeat=dims):
            values[tuple(TOTAL if m else k for k, m in zip(key, mask, strict=True))] += count
    decided = dict(fixed or {})
    hidden = {
        key
        for key, value in values.items()
        if (decided[key] is None if key in decided else is_small(value, threshold))
    }
    lines = _lines(list(values), dims)
    lines_of: dict[Key, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        for key in line:
            lines_of[key].append(index)
    # A zero whose row, column (...) adds up to zero is known to be zero: hiding it
    # protects nothing.
    known_zero = {
        key
        for key, value in values.items()
        if value == 0 and any(values[_total_of(key, dim)] == 0 for dim in range(dims))
    }
    # Hide complements, then audit: a hidden cell that can still be worked out (through a
    # chain of subtractions) protects nothing, so its lines get complements of their own.
    exposed: set[Key] = set()
    while True:
        added = _complement(lines, lines_of, values, hidden, exposed, decided, known_zero)
        found = _derivable(lines, hidden, known_zero)
        if not found or (not added and found == exposed):
            break
        exposed = found
    return {key: (None if key in hidden else value) for key, value in values.items()}


def _total_of(key: Key, dim: int) -> Key:
    return (*key[:dim], TOTAL, *key[dim + 1 :])


def _complement(
    lines: list[list[Key]],
    lines_of: Mapping[Key, list[int]],
    values: Mapping[Key, int],
    hidden: set[Key],
    exposed: set[Key],
    decided: Mapping[Key, int | None],
    known_zero: set[Key],
) -> bool:
    """Hide more cells until no line holds exactly one hidden cell that still protects
    (a hidden cell found derivable protects nothing). True when it hid any."""
    added = False
    pending = list(range(len(lines)))
    while pending:
        line = lines[pending.pop()]
        if sum(1 for key in line if key in hidden and key not in exposed) != 1:
            continue
        candidates = [
            key
            for key in line
            if key not in hidden and key not in decided and key not in known_zero
        ]
        if not candidates:
            continue
        nonzero = [key for key in candidates if values[key] > 0]
        complement = min(nonzero or candidates, key=lambda key: (values[key], key))
        hidden.add(complement)
        added = True
        pending.extend(lines_of[complement])
    return added


def _derivable(lines: list[list[Key]], hidden: set[Key], known_zero: set[Key]) -> set[Key]:
    """Hidden cells someone could still work out, by subtracting known cells from a known
    total line after line (the audit of the suppression)."""
    unknown = hidden - known_zero
    found: set[Key] = set()
    changed = True
    while changed:
        changed = False
        for line in lines:
            missing = [key for key in line if key in unknown]
            if len(missing) == 1:
                unknown.discard(missing[0])
                found.add(missing[0])
                changed = True
    return found


def _lines(keys: list[Key], dimensions: int) -> list[list[Key]]:
    """Groups of cells that differ in exactly one dimension (a row, a column, ...), each
    with its total."""
    lines: list[list[Key]] = []
    for dim in range(dimensions):
        groups: dict[Key, list[Key]] = defaultdict(list)
        for key in keys:
            groups[key[:dim] + key[dim + 1 :]].append(key)
        lines.extend(groups.values())
    return lines
