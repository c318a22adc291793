"""A sliding-window rate limiter for the public endpoints (chat starts and messages)."""

from __future__ import annotations

from collections import deque

from hotline.clock import Clock


class RateLimiter:
    """Allows at most `limit` events per `window` seconds for each key."""

    def __init__(self, clock: Clock, limit: int, window: float, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window
        self._max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Record an attempt for `key` and say whether it is within the limit."""
        now = self._clock.now().timestamp()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._forget_idle(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self._window:
            hits.popleft()
        if len(hits) >= self._limit:
            return False
        hits.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self._window]:
            del self._hits[key]
