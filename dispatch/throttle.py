"""Per-recipient throttle: when may the next text or call to one number go out?

A storm of dispatches must not make a carrier block the paging number, nor bury one responder
under twenty texts in a minute. At most `limit` sends to a number in any `window`; a send
that would exceed it is given the first later slot that keeps the promise. Pages are delayed,
never dropped, and the slot is stored on the page so a restart keeps it.
"""

from __future__ import annotations

from datetime import datetime, timedelta


def next_slot(taken: list[datetime], wanted: datetime, limit: int, window: timedelta) -> datetime:
    """The earliest instant >= `wanted` at which one more send keeps every window within `limit`.

    `taken` are the send instants already booked for this number (some may lie ahead: pages
    already delayed). Windows are half-open, (end - window, end]. The answer is `wanted` or
    the moment some booked send leaves a window (its time plus `window`), so only those
    candidates are tried; the lists are a handful of sends long.
    """
    booked = sorted(taken)
    candidates = sorted({wanted, *(t + window for t in booked if t + window > wanted)})
    for candidate in candidates:
        with_it = sorted([*booked, candidate])
        ends = [candidate, *(t for t in booked if candidate < t < candidate + window)]
        if all(sum(1 for u in with_it if end - window < u <= end) <= limit for end in ends):
            return candidate
    raise AssertionError("unreachable: after the last booked send's window every slot is free")
