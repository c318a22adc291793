"""Open websockets, so shutdown can close them cleanly and presence knows who is connected."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Coroutine, Hashable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from hotline.events import EventBus, Subscription


class SocketRegistry:
    """Every open websocket, grouped by whose it is (a staff member, a person's contact)."""

    def __init__(self) -> None:
        self._all: set[web.WebSocketResponse] = set()
        self._by_owner: dict[Hashable, set[web.WebSocketResponse]] = defaultdict(set)

    def add(self, ws: web.WebSocketResponse, owner: Hashable) -> int:
        """Track a socket; returns how many sockets that owner now has open."""
        self._all.add(ws)
        self._by_owner[owner].add(ws)
        return len(self._by_owner[owner])

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
