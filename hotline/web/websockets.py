"""Open websockets, so shutdown can close them cleanly and presence knows who is connected."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable

from aiohttp import WSCloseCode, web


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
