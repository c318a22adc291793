"""Events: the record of every change, and the in-process bus that feeds live views.

Every change to a contact is appended to the event log inside the same transaction as the
change itself, and published on the bus only after that transaction commits, so a console
never shows something the store does not hold. Event data carries ids and codes, never
message text or contact details.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    """One appended fact: who did what to which subject, when."""

    id: int
    at: datetime
    actor: str
    kind: str
    subject: str
    data: dict[str, Any] = field(default_factory=dict)


# A marker event that wakes a listener to resynchronise (see `Subscription.mark_behind`).
RESYNC = Event(id=0, at=datetime.min, actor="system", kind="bus.resync", subject="bus")


class EventBus:
    """In-process publish/subscribe of committed events for websockets and background loops.

    A slow subscriber must not stall the hotline, so each subscriber has a bounded buffer;
    one that falls behind is marked `overflowed` and resynchronises from the store.
    """

    def __init__(self, buffer: int = 1000) -> None:
        self._buffer = buffer
        self._subscribers: set[Subscription] = set()
        self._forwarders: list[Callable[[Event], None]] = []
        self._watchers: list[Callable[[Event], None]] = []

    def publish(self, event: Event) -> None:
        """Hand an event committed here to every subscriber, and to the forwarders (the
        relay to other gateway processes), without waiting."""
        self.deliver(event)
        for forward in self._forwarders:
            forward(event)

    def deliver(self, event: Event) -> None:
        """Hand an event to this process's subscribers only (one another process committed,
        or a synthetic resync): it is not forwarded again. Watchers see it first, so a cache
        they invalidate is stale before any subscriber can read it."""
        for watch in self._watchers:
            watch(event)
        for subscription in list(self._subscribers):
            subscription.offer(event)

    def add_watcher(self, watch: Callable[[Event], None]) -> None:
        """Call `watch` (which must not block) with every event delivered here."""
        self._watchers.append(watch)

    def add_forwarder(self, forward: Callable[[Event], None]) -> None:
        """Also hand every locally committed event to `forward` (must not block)."""
        self._forwarders.append(forward)

    def resync_all(self) -> None:
        """Tell every live view it may have missed events (the fan-out was interrupted), so
        it reloads its state from the store."""
        for watch in self._watchers:
            watch(RESYNC)
        for subscription in list(self._subscribers):
            subscription.mark_behind()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscription]:
        """Receive events published from now on, until the block exits."""
        subscription = Subscription(self._buffer)
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    @property
    def subscriber_count(self) -> int:
        """How many live views are listening (for health and tests)."""
        return len(self._subscribers)


class Subscription:
    """One listener's buffered view of the bus."""

    def __init__(self, buffer: int) -> None:
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=buffer)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    def mark_behind(self) -> None:
        """Make the listener resynchronise: flagged as overflowed, and woken by a marker."""
        self.overflowed = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(RESYNC)

    async def get(self) -> Event:
        """Wait for the next event."""
        return await self._queue.get()

    def drain(self) -> list[Event]:
        """Take every event already buffered, without waiting."""
        events = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events
