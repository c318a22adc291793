"""Open websockets, so shutdown can close them cleanly and presence knows who is connected."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

import structlog
from aiohttp import WSCloseCode, WSMsgType, web

from hotline.clock import Clock, to_iso
from hotline.events import Event, EventBus, Subscription

log = structlog.get_logger(__name__)


class SocketRegistry:
    """Every open websocket, grouped by whose it is (a staff member, a person's contact)."""

    def __init__(self) -> None:
        self._all: set[web.WebSocketResponse] = set()
        self._by_owner: dict[Hashable, set[web.WebSocketResponse]] = defaultdict(set)
        # Told of each newly connected owner (the cluster's liveness renews at once, so
        # other processes see the console or chat page without waiting for a heartbeat).
        self.on_connect: Callable[[Hashable], None] | None = None

    def add(self, ws: web.WebSocketResponse, owner: Hashable) -> int:
        """Track a socket; returns how many sockets that owner now has open."""
        self._all.add(ws)
        self._by_owner[owner].add(ws)
        if self.on_connect is not None and len(self._by_owner[owner]) == 1:
            self.on_connect(owner)
        return len(self._by_owner[owner])

    def owners(self) -> list[Hashable]:
        """Every owner with at least one socket open here."""
        return [owner for owner, sockets in self._by_owner.items() if sockets]

    def remove(self, ws: web.WebSocketResponse, owner: Hashable) -> int:
        """Forget a socket; returns how many sockets that owner still has open."""
        self._all.discard(ws)
        sockets = self._by_owner.get(owner)
        if sockets is None:
            return 0
        sockets.discard(ws)
        if not sockets:
            del self._by_owner[owner]
            return 0
        return len(sockets)

    def count(self, owner: Hashable) -> int:
        """How many sockets an owner has open."""
        return len(self._by_owner.get(owner, ()))

    async def close_all(self) -> None:
        """Tell every browser the server is going away; pages reconnect to the next process."""
        for ws in list(self._all):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


# Follows the bus for one page's socket until it closes (a feed's `run`).
FeedRun = Callable[[Subscription], Coroutine[Any, Any, None]]


async def serve_listening_page(
    request: web.Request,
    *,
    sockets: SocketRegistry,
    bus: EventBus,
    owner: Hashable,
    feed: Callable[[web.WebSocketResponse], FeedRun],
) -> web.WebSocketResponse:
    """A staff page's live socket that only listens (the board, the follow-up pages).

    The bus is subscribed before the feed sends its first frame, so no change falls between
    the page's first picture and the updates; the feed is cancelled and the socket forgotten
    however the connection ends.
    """
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=4096)
    await ws.prepare(request)
    sockets.add(ws, owner)
    async with bus.subscribe() as subscription:
        follower = asyncio.create_task(feed(ws)(subscription))
        try:
            async for frame in ws:  # the page only listens; pings are handled by aiohttp
                if frame.type is WSMsgType.ERROR:
                    break
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
            sockets.remove(ws, owner)
    return ws


class EventFeed:
    """A staff page's live feed: a greeting, then the frames each committed event means for
    this page; if the page's buffer overflowed, one `resync` frame so it re-reads everything.
    A failure closes the socket, so the page says it is reconnecting rather than showing a
    view that silently stopped. Subclasses say what an event means (`frames`)."""

    name = "feed"

    def __init__(self, ws: web.WebSocketResponse, clock: Clock) -> None:
        self.ws = ws
        self.clock = clock

    async def run(self, subscription: Subscription) -> None:
        """Follow the bus until the socket closes."""
        try:
            await self.follow(subscription)
        except ConnectionResetError:
            pass  # the browser went away mid-frame
        except Exception as exc:
            log.error("feed_failed", feed=self.name, error_type=type(exc).__name__)
            await self.ws.close()

    async def follow(self, subscription: Subscription) -> None:
        """The greeting, then frames per batch of committed events."""
        await self.ws.send_json({"type": "hello", "now": to_iso(self.clock.now())})
        while not self.ws.closed:
            batch = [await subscription.get(), *subscription.drain()]
            if subscription.overflowed:
                subscription.overflowed = False
                await self.ws.send_json(self.resync_frame())
                continue
            for event in batch:
                for frame in await self.frames(event):
                    await self.ws.send_json(frame)

    def resync_frame(self) -> dict[str, Any]:
        """What tells the page to re-read everything."""
        return {"type": "changed", "kind": "resync"}

    async def frames(self, event: Event) -> list[dict[str, Any]]:
        """What this page is told of one event (often nothing)."""
        raise NotImplementedError
