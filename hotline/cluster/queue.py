"""The waiting queue's shared index in Redis: one sorted set per channel, taken from by a
Lua script that pops the most urgent contact across the channels a counsellor answers.

The store stays the truth. Each process indexes the contacts its own committed events touch
(re-reading each from the store, so the index always follows the latest stored state, in
whatever order events arrive), a periodic reconcile repairs what a crash or a Redis restart
lost, and a pick is only a suggestion: the claim itself is the store's guarded update, so a
stale entry costs one retry and never a contact given twice. When Redis does not answer,
`take` returns None and the caller takes through the store alone.

A score orders like the store's queue: risk level first, then a contact dropped by its
counsellor (re-queued at the head of its level), then time waited, then id (the member,
zero-padded, breaks ties the way the store does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

import structlog

from hotline.cluster.connection import Cluster
from hotline.contacts import Channel, Contact, ContactState
from hotline.conversations import Conversations
from hotline.errors import NotFound
from hotline.events import Event, EventBus

log = structlog.get_logger(__name__)

# Lower score first. A tier is risk rank x 2 + re-queued (0..9, higher is more urgent); the
# milliseconds of the first arrival fit under TIER_SPAN until the year 2286, and the largest
# score stays below 2**53, so doubles hold every score exactly.
TIER_SPAN = 10**13
MAX_TIER = 9
RECONCILE_SECONDS = 10.0

# Pops the lowest-scored member across the given channel keys, atomically: no other client
# can take between the look and the removal, in this process or another.
TAKE_MOST_URGENT = """
local best_key, best_member, best_score = nil, nil, nil
for _, key in ipairs(KEYS) do
  local top = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if top[1] then
    local score = tonumber(top[2])
    if best_score == nil or score < best_score
       or (score == best_score and top[1] < best_member) then
      best_key, best_member, best_score = key, top[1], score
    end
  end
end
if best_key == nil then return false end
redis.call('ZREM', best_key, best_member)
return best_member
"""


def score(contact: Contact) -> float:
    """The sorted-set score of a waiting contact (lower is answered first)."""
    tier = contact.risk.rank * 2 + (1 if contact.requeued else 0)
    millis = int(contact.waiting_since.timestamp() * 1000)
    return float((MAX_TIER - tier) * TIER_SPAN + millis)


def member(contact_id: int) -> str:
    """A contact's member name: zero-padded, so equal scores sort by id as in the store."""
    return f"{contact_id:012d}"


class QueueIndex:
    """The shared index of waiting contacts, kept from this process's committed events."""

    def __init__(self, cluster: Cluster, conversations: Conversations, bus: EventBus) -> None:
        self.cluster = cluster
        self.conversations = conversations
        self.bus = bus
        self._pending: asyncio.Queue[int] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._take = cluster.redis.register_script(TAKE_MOST_URGENT)
        self.taken = 0  # picks served from the index (benchmarks, tests)
        self.stale = 0  # picks the store refused (taken meanwhile by another way)

    def key(self, channel: Channel) -> str:
        return self.cluster.key("queue", channel.value)

    def start(self) -> None:
        """Index this process's committed contact events and reconcile now and then."""
        self.bus.add_forwarder(self._touched)
        self.cluster.on_return(self.reconcile)
        self._tasks = [
            asyncio.create_task(self._index_forever()),
            asyncio.create_task(self._reconcile_forever()),
        ]

    def _touched(self, event: Event) -> None:
        if event.kind.startswith("contact.") and event.subject.startswith("contact:"):
            self._pending.put_nowait(int(event.subject.split(":", 1)[1]))

    async def _index_forever(self) -> None:
        while True:
            contact_id = await self._pending.get()
            try:
                await self.refresh([contact_id])
            except Exception as exc:  # the index must outlive one bad contact
                log.error("queue_index_failed", contact_id=contact_id, error=type(exc).__name__)
            finally:
                self._pending.task_done()

    async def settled(self) -> None:
        """Wait until every contact event committed so far is in the index (tests, bench)."""
        await self._pending.join()

    async def refresh(self, contact_ids: Iterable[int]) -> None:
        """Put each contact where the store says it is: in its channel's set while queued,
        out of every set otherwise."""
        redis = self.cluster.redis
        for contact_id in contact_ids:
            try:
                contact = await self.conversations.get(contact_id)
            except NotFound:
                continue

            async def apply(contact: Contact = contact) -> None:
                async with redis.pipeline(transaction=True) as pipe:
                    for channel in Channel:
                        if contact.state is ContactState.QUEUED and channel is contact.channel:
                            pipe.zadd(self.key(channel), {member(contact.id): score(contact)})
                        else:
                            pipe.zrem(self.key(channel), member(contact.id))
                    await pipe.execute()

            await self.cluster.run("index", apply)

    async def take(self, channels: frozenset[Channel] | None = None) -> int | None:
        """Pop the most urgent indexed contact of these channels; None if none is indexed
        or Redis does not answer (take through the store then)."""
        keys = [self.key(c) for c in sorted(channels if channels is not None else Channel)]

        async def pop() -> object:
            return await self._take(keys=keys)

        picked = await self.cluster.run("take_next", pop)
        if not picked:
            return None
        self.taken += 1
        return int(picked.decode() if isinstance(picked, bytes) else str(picked))

    async def length(self) -> int | None:
        """How many contacts the index holds (None when Redis does not answer)."""

        async def count() -> int:
            async with self.cluster.redis.pipeline(transaction=False) as pipe:
                for channel in Channel:
                    pipe.zcard(self.key(channel))
                return sum(int(n) for n in await pipe.execute())

        return await self.cluster.run("queue_length", count)

    async def reconcile(self) -> None:
        """Make the index agree with the store's queue: add what is missing or misplaced,
        remove what no longer waits. A contact queued in between is added by its event."""
        waiting = await self.conversations.queue()
        wanted = {
            channel: {member(c.id): score(c) for c in waiting if c.channel is channel}
            for channel in Channel
        }
        redis = self.cluster.redis

        async def apply() -> int:
            changed = 0
            for channel, members in wanted.items():
                rows: list[Any] = list(
                    await redis.zrange(self.key(channel), 0, -1, withscores=True)
                )
                held = {
                    (k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in rows
                }
                gone = [m for m in held if m not in members]
                fix = {m: s for m, s in members.items() if held.get(m) != s}
                async with redis.pipeline(transaction=True) as pipe:
                    if gone:
                        pipe.zrem(self.key(channel), *gone)
                    if fix:
                        pipe.zadd(self.key(channel), fix)
                    await pipe.execute()
                changed += len(gone) + len(fix)
            return changed

        changed = await self.cluster.run("reconcile", apply)
        if changed:
            log.info("queue_index_reconciled", changed=changed, waiting=len(waiting))

    async def _reconcile_forever(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # the loop must outlive one bad pass
                log.error("queue_reconcile_failed", error_type=type(exc).__name__)
            await asyncio.sleep(RECONCILE_SECONDS)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
