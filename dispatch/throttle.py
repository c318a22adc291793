"""Per-recipient throttle: when may the next text or call to one number go out?

A storm of dispatches must not make a carrier block the paging number, nor bury one responder
under twenty texts in a minute. At most `limit` sends to a number in any `window`; a send
that would exceed it is given the first later slot that keeps the promise. Pages are delayed,
never dropped, and the slot is stored on the page so a restart keeps it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import datetime, timedelta


def next_slot(taken: list[datetime], wanted: datetime, limit: int, window: timedelta) -> datetime:
    """The earliest instant >= `wanted` at which one more send keeps every window within `limit`.

    `taken` are the send instants already booked for this number (some may lie ahead: pages
    already delayed). Windows are half-open, (end - window, end]. The search jumps rather than
    steps: a full window moves the candidate to when its oldest send leaves; a later booked
    send whose window would overflow moves it to that send. In a storm one number has
    hundreds of bookings, so this is logarithmic per jump, not a scan per candidate.
    """
    booked = sorted(taken)
    candidate = wanted
    while True:
        low = bisect_right(booked, candidate - window)
        high = bisect_right(booked, candidate)
        if high - low >= limit:
            candidate = booked[high - limit] + window
            continue
        # Booked sends after the candidate whose windows would also hold it; at most `limit`
        # of them can matter (with more, the limit-th's window is already full).
        later = booked[high : bisect_left(booked, candidate + window)][:limit]
        blocker = next(
            (
                t
                for t in later
                if bisect_right(booked, t) - bisect_right(booked, t - window) + 1 > limit
            ),
            None,
        )
        if blocker is None:
            return candidate
        candidate = blocker
