"""Joining the other gateway processes through Redis, for the life of the app.

Opened right after the store: the relay starts forwarding this process's events, the queue
index is reconciled with the store and handed to the conversations as their picker, the
liveness heartbeat covers this process's consoles and chat pages, and the liveness sweep
replaces what a single process does at start (marking everyone offline, re-queueing offered
contacts): with several processes, only absence across all of them counts.

Redis need not answer at start: the gateway then serves through the store alone, `/healthz`
says Redis is unavailable, and everything here catches up when Redis returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable

import structlog
from aiohttp import web

from hotline.cluster.connection import Cluster
from hotline.cluster.liveness import Liveness, LivenessSweep
from hotline.cluster.queue import QueueIndex
from hotline.cluster.relay import EventRelay
from hotline.cluster.ticks import TickClaims
from hotline.web import keys

log = structlog.get_logger(__name__)

# How long one part (Redis, the relay, the spool...) may take to close at shutdown.
CLOSE_SECONDS = 5.0

# Whether this process should run a periodic pass now (`what`, lasting `seconds`).
TickGate = Callable[[str, float], Awaitable[bool]]


async def _always(_what: str, _seconds: float) -> bool:
    return True


def tick_gate(app: web.Application) -> TickGate:
    """The claim a periodic pass asks for before it runs (always granted in one process)."""
    ticks = app.get(keys.TICKS)
    return _always if ticks is None else ticks.mine


async def cluster_ctx(app: web.Application) -> AsyncIterator[None]:
    """Redis-shared queue index, event relay, liveness and tick claims, when configured."""
    config = app[keys.CONFIG]
    if not config.redis.enabled:
        app[keys.CLUSTER] = None
        app[keys.QUEUE_INDEX] = None
        app[keys.RELAY] = None
        app[keys.TICKS] = None
        yield
        return
    cluster = Cluster(config.redis.url, config.redis.key_prefix)
    bus = app[keys.BUS]
    conversations = app[keys.CONVERSATIONS]
    relay = EventRelay(cluster, bus)
    index = QueueIndex(cluster, conversations, bus)
    ticks = TickClaims(cluster)
    sockets = app[keys.SOCKETS]
    liveness = Liveness(cluster, sockets.owners, float(config.redis.liveness_seconds))
    watch = app[keys.PRESENCE_WATCH]
    sweep = LivenessSweep(
        cluster,
        liveness,
        ticks,
        app[keys.DATABASE],
        conversations,
        watch.went_away,
        float(config.console.offline_grace_seconds),
    )

    def connected(_owner: Hashable) -> None:
        liveness.renew_soon()

    if not await cluster.ping():
        log.warning("redis_unavailable_at_start")
    app[keys.CLUSTER] = cluster
    app[keys.QUEUE_INDEX] = index
    app[keys.RELAY] = relay
    app[keys.TICKS] = ticks
    relay.start()
    index.start()
    liveness.start()
    sweep.start()
    sockets.on_connect = connected
    conversations.queue_picker = index
    watch.cluster_decides = True
    log.info("cluster_joined", origin=cluster.origin)
    yield
    conversations.queue_picker = None
    watch.cluster_decides = False
    sockets.on_connect = None
    for what, close in (
        ("liveness_sweep", sweep.close),
        ("liveness", liveness.close),
        ("queue_index", index.close),
        ("relay", relay.close),
        ("redis", cluster.close),
    ):
        await closed_within(what, close)


async def closed_within(
    what: str, close: Callable[[], Awaitable[object]], seconds: float = CLOSE_SECONDS
) -> None:
    """Run one part's shutdown, but never wait on it for long: a stop must finish (a
    connection stuck mid-command would otherwise hold the process until systemd kills it).
    What it had open is dropped with the process; the store holds the truth."""
    try:
        await asyncio.wait_for(close(), seconds)
    except TimeoutError:
        log.warning("shutdown_step_timed_out", part=what, seconds=seconds)
