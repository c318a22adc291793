"""Events: the record of every change, and the in-process bus that feeds live views.

Every change to a contact is appended to the event log inside the same transaction as the
change itself, and published on the bus only after that transaction commits, so a console
never shows something the store does not hold. Event data carries ids and codes, never
message text or contact details.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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


class EventBus:
    """In-process publish/subscribe of committed events for websockets and background loops.

    A slow subscriber must not stall the hotline, so each subscriber has a bounded buffer;
    one that falls behind is marked `overflowed` and resynchronises from the store.
    """

    def __init__(self, buffer: int = 1000) -> None:
        self._buffer = buffer
        self._subscribers: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        """Hand a committed event to every subscriber without waiting."""
        for subscription in list(self._subscribers):
            subscription.offer(event)

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

    async def get(self) -> Event:
        """Wait for the next event."""
        return await self._queue.get()

    def drain(self) -> list[Event]:
        """Take every event already buffered, without waiting."""
        events = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events
