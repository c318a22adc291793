"""Who is connected anywhere in the cluster: counsellors' consoles and people's chat pages.

Each process renews, every few seconds, an entry for every console and chat page connected
to it, with an expiry; a process that dies (even by SIGKILL) stops renewing, and its entries
lapse. One process at a time (a tick claim) then sweeps: a counsellor connected nowhere for
longer than the console grace goes offline and hands their conversations back to the queue;
a person connected nowhere has left their chat (the abandonment sweep takes it from there).
This is what a single process does with its own sockets; with several, no process may judge
by its own sockets alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable

import structlog

from hotline.cluster.connection import Cluster
from hotline.cluster.ticks import TickClaims
from hotline.conversations import Conversations
from hotline.store.database import Database

log = structlog.get_logger(__name__)

KINDS = ("user", "contact")

OwnersNow = Callable[[], list[Hashable]]
GoneAway = Callable[[int], Awaitable[None]]


class Liveness:
    """Entries `<id>:<origin>` in one sorted set per kind, scored by their expiry (ms)."""

    def __init__(self, cluster: Cluster, owners: OwnersNow, ttl_seconds: float = 10.0) -> None:
        self.cluster = cluster
        self._owners = owners
        # An entry not renewed for `ttl` belongs to a process that is gone; renewed three
        # times within it, so one late heartbeat does not make anyone absent.
        self.ttl = ttl_seconds
        self.heartbeat = ttl_seconds / 3
        self._task: asyncio.Task[None] | None = None
        self._soon: asyncio.Task[None] | None = None

    def key(self, kind: str) -> str:
        return self.cluster.key("alive", kind)

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat_forever())

    def renew_soon(self) -> None:
        """Renew now rather than at the next heartbeat (a console or chat page just
        connected here: the other processes must not think it absent meanwhile)."""
        if self._soon is None or self._soon.done():
            self._soon = asyncio.create_task(self.beat())

    async def beat(self) -> None:
        """Renew this process's entries (and drop the ones it no longer has)."""
        expiry = (time.time() + self.ttl) * 1000
        mine: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
        for owner in self._owners():
            if isinstance(owner, tuple) and len(owner) == 2 and owner[0] in KINDS:
                mine[owner[0]][f"{owner[1]}:{self.cluster.origin}"] = expiry
        redis = self.cluster.redis
        suffix = f":{self.cluster.origin}"

        async def renew() -> None:
            for kind, entries in mine.items():
                held = await redis.zrange(self.key(kind), 0, -1)
                stale = [
                    m
                    for m in (h.decode() if isinstance(h, bytes) else str(h) for h in held)
                    if m.endswith(suffix) and m not in entries
                ]
                async with redis.pipeline(transaction=True) as pipe:
                    if stale:
                        pipe.zrem(self.key(kind), *stale)
                    if entries:
                        pipe.zadd(self.key(kind), entries)
                    pipe.zremrangebyscore(self.key(kind), "-inf", time.time() * 1000)
                    await pipe.execute()

        await self.cluster.run("liveness", renew)

    async def connected(self, kind: str) -> set[int] | None:
        """Ids of this kind connected anywhere now; None when Redis does not answer."""

        async def read() -> set[int]:
            now = time.time() * 1000
            entries = await self.cluster.redis.zrangebyscore(self.key(kind), now, "+inf")
            found = set()
            for entry in entries:
                text = entry.decode() if isinstance(entry, bytes) else str(entry)
                ident = text.split(":", 1)[0]
                if ident.isdigit():
                    found.add(int(ident))
            return found

        return await self.cluster.run("liveness_read", read)

    async def _beat_forever(self) -> None:
        while True:
            try:
                await self.beat()
            except Exception as exc:  # the heartbeat must outlive one bad pass
                log.error("liveness_failed", error_type=type(exc).__name__)
            await asyncio.sleep(self.heartbeat)

    async def close(self) -> None:
        """Stop renewing and withdraw this process's entries (a clean shutdown)."""
        for task in (self._task, self._soon):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        suffix = f":{self.cluster.origin}"

        async def withdraw() -> None:
            for kind in KINDS:
                held = await self.cluster.redis.zrange(self.key(kind), 0, -1)
                mine = [
                    m
                    for m in (h.decode() if isinstance(h, bytes) else str(h) for h in held)
                    if m.endswith(suffix)
                ]
                if mine:
                    await self.cluster.redis.zrem(self.key(kind), *mine)

        await self.cluster.run("liveness_withdraw", withdraw)


class LivenessSweep:
    """Applies absence across the cluster: counsellors offline after the grace, chat pages
    left. Runs in every process; a tick claim lets one of them act per sweep."""

    def __init__(
        self,
        cluster: Cluster,
        liveness: Liveness,
        ticks: TickClaims,
        db: Database,
        conversations: Conversations,
        went_away: GoneAway,
        grace_seconds: float,
    ) -> None:
        self.cluster = cluster
        self.liveness = liveness
        self.ticks = ticks
        self.db = db
        self.conversations = conversations
        self.went_away = went_away
        self.grace = grace_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._sweep_forever())

    async def sweep(self) -> None:
        """One pass (the caller holds the tick)."""
        users = await self.liveness.connected("user")
        chats = await self.liveness.connected("contact")
        if users is None or chats is None:
            return  # Redis does not answer: nobody can be judged absent now
        await self._counsellors(users)
        await self._chats(chats)

    async def _counsellors(self, connected: set[int]) -> None:
        rows = await self.db.fetchall("SELECT user_id FROM presence WHERE status != 'offline'")
        # Holders count too: a counsellor already offline may still hold a conversation.
        held = await self.db.fetchall(
            "SELECT DISTINCT counsellor_id FROM contacts"
            " WHERE state IN ('offered', 'active') AND counsellor_id IS NOT NULL"
        )
        watched = {int(r["user_id"]) for r in rows} | {int(r["counsellor_id"]) for r in held}
        for user_id in await self._absent("user", watched, connected, self.grace):
            await self.went_away(user_id)
            log.info("counsellor_gone_from_cluster", user_id=user_id)

    async def _chats(self, connected: set[int]) -> None:
        rows = await self.db.fetchall(
            "SELECT id FROM contacts WHERE channel = 'webchat' AND caller_left_at IS NULL"
            " AND state IN ('queued', 'offered', 'active')"
        )
        watched = {int(r["id"]) for r in rows}
        # A page that just connected is renewed within a heartbeat: give it a lifetime.
        for contact_id in await self._absent("contact", watched, connected, self.liveness.ttl):
            await self.conversations.caller_disconnected(contact_id)
            log.info("chat_gone_from_cluster", contact_id=contact_id)

    async def _absent(
        self, kind: str, watched: set[int], connected: set[int], grace: float
    ) -> list[int]:
        """Those watched that have been connected nowhere for `grace` seconds (the first
        sighting of an absence is kept in Redis, so it outlives the process that saw it)."""
        key = self.cluster.key("absent", kind)
        redis = self.cluster.redis
        now = time.time()
        gone = []
        for ident in sorted(watched):
            if ident in connected:
                await redis.hdel(key, str(ident))
                continue
            await redis.hsetnx(key, str(ident), str(now))
            since = await redis.hget(key, str(ident))
            if since is not None and now - float(since) >= grace:
                gone.append(ident)
                await redis.hdel(key, str(ident))
        for stale in await redis.hkeys(key):
            if int(stale) not in watched:
                await redis.hdel(key, stale)
        return gone

    async def _sweep_forever(self) -> None:
        every = max(0.2, self.liveness.ttl / 5)
        while True:
            await asyncio.sleep(every)
            try:
                if await self.ticks.mine("liveness_sweep", every):
                    await self.cluster.run("liveness_sweep", self.sweep)
            except Exception as exc:  # the sweep must outlive one bad pass
                log.error("liveness_sweep_failed", error_type=type(exc).__name__)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
