"""Live events across gateway processes: what one commits, every other's consoles see.

Each event committed here is published on one Redis channel with this process's origin;
each process listens on that channel and hands the others' events to its own bus (never
forwarding them again). Publishing never blocks a commit: events wait in a bounded outbox
that one task drains. If Redis drops, views could miss events, so when the relay is back
every local view is told to resynchronise from the store (the store holds every change).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from datetime import datetime
from typing import Any

import structlog
from redis.exceptions import RedisError

from hotline.clock import from_iso, to_iso
from hotline.cluster.connection import Cluster
from hotline.events import Event, EventBus

log = structlog.get_logger(__name__)

OUTBOX_LIMIT = 10_000
RETRY_SECONDS = 1.0


def encode(event: Event, origin: str) -> str:
    """An event as the channel carries it (ids and codes only, like the event log)."""
    return json.dumps(
        {
            "origin": origin,
            "id": event.id,
            "at": to_iso(event.at),
            "actor": event.actor,
            "kind": event.kind,
            "subject": event.subject,
            "data": event.data,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(raw: bytes | str) -> tuple[str, Event]:
    """(origin, event) from a channel message."""
    fields: dict[str, Any] = json.loads(raw)
    at: datetime = from_iso(fields["at"])
    event = Event(
        id=int(fields["id"]),
        at=at,
        actor=str(fields["actor"]),
        kind=str(fields["kind"]),
        subject=str(fields["subject"]),
        data=dict(fields.get("data") or {}),
    )
    return str(fields["origin"]), event


class EventRelay:
    """Forwards this process's committed events to Redis and Redis's to this process."""

    def __init__(self, cluster: Cluster, bus: EventBus) -> None:
        self.cluster = cluster
        self.bus = bus
        self.channel = cluster.key("events")
        self._outbox: asyncio.Queue[Event] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self.received = 0  # events from other processes handed to this bus (tests, health)
        self.dropped = 0  # events that could not wait for Redis (the others resync later)

    def start(self) -> None:
        """Begin relaying (call once the event loop runs)."""
        self.bus.add_forwarder(self._enqueue)
        self._tasks = [
            asyncio.create_task(self._publish_forever()),
            asyncio.create_task(self._listen_forever()),
        ]

    def _enqueue(self, event: Event) -> None:
        try:
            self._outbox.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _publish_forever(self) -> None:
        while True:
            event = await self._outbox.get()
            await self._publish(encode(event, self.cluster.origin))

    async def _publish(self, message: str) -> None:
        """Publish one event, retrying while Redis is away (the rest wait, in order)."""

        async def send() -> int:
            return int(await self.cluster.redis.publish(self.channel, message))

        for _attempt in itertools.count():
            if await self.cluster.run("publish", send) is not None:
                return
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen_forever(self) -> None:
        """Subscribe, hand on what others publish; after any break, resubscribe and make
        this process's views resynchronise (they may have missed events meanwhile)."""
        first = True
        while True:
            pubsub = self.cluster.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                if not first:
                    self.bus.resync_all()
                    log.info("relay_resubscribed")
                first = False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    origin, event = decode(message["data"])
                    if origin != self.cluster.origin:
                        self.received += 1
                        self.bus.deliver(event)
            except (RedisError, OSError, ValueError, KeyError) as exc:
                log.warning("relay_interrupted", error_type=type(exc).__name__)
                self.cluster.available = False
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py untyped

    async def close(self) -> None:
        """Stop relaying."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
