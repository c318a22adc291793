"""Marks a counsellor offline a little after their last console closes.

The grace period keeps a page reload from flipping presence (and the supervisor's floor
view) to offline and back.
"""

from __future__ import annotations

import asyncio
import contextlib

from hotline.counsellors import Counsellors, Presence
from hotline.web.websockets import SocketRegistry


class PresenceWatch:
    """Pending "go offline" timers, one per counsellor."""

    def __init__(self, counsellors: Counsellors, sockets: SocketRegistry, grace: float) -> None:
        self._counsellors = counsellors
        self._sockets = sockets
        self._grace = grace
        self._pending: dict[int, asyncio.Task[None]] = {}

    def schedule_offline(self, user_id: int) -> None:
        """Go offline after the grace period unless a console reconnects."""
        if user_id not in self._pending:
            self._pending[user_id] = asyncio.create_task(self._later(user_id))

    async def _later(self, user_id: int) -> None:
        try:
            await asyncio.sleep(self._grace)
            if self._sockets.count(("user", user_id)) == 0:
                await self._counsellors.set_presence(user_id, Presence.OFFLINE)
        finally:
            self._pending.pop(user_id, None)

    async def close(self) -> None:
        """Cancel pending timers (at start every counsellor is offline anyway)."""
        for task in list(self._pending.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
