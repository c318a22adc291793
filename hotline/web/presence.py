"""Marks a counsellor offline a little after their last console closes, and hands their
conversations back to the queue.

The grace period keeps a page reload from flipping presence (and the supervisor's floor
view) to offline and back. Past it, a person whose counsellor vanished (browser crash, lost
network, a restart the counsellor did not come back from) must not be left talking to
nobody: their contact returns to the head of its risk level for the next counsellor.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from hotline.contacts import ContactState, IllegalTransition
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors, Presence
from hotline.web.websockets import SocketRegistry

log = structlog.get_logger(__name__)


class PresenceWatch:
    """Pending "go offline" timers, one per counsellor."""

    def __init__(
        self,
        counsellors: Counsellors,
        conversations: Conversations,
        sockets: SocketRegistry,
        grace: float,
    ) -> None:
        self._counsellors = counsellors
        self._conversations = conversations
        self._sockets = sockets
        self._grace = grace
        self._pending: dict[int, asyncio.Task[None]] = {}
        # With several gateway processes a counsellor's absence is judged across all of them
        # (hotline.cluster.liveness), never from this process's sockets alone.
        self.cluster_decides = False

    def schedule_offline(self, user_id: int) -> None:
        """Go offline after the grace period unless a console reconnects."""
        if user_id not in self._pending:
            self._pending[user_id] = asyncio.create_task(self._later(user_id))

    async def watch_holders(self) -> None:
        """After a restart nobody's console is connected: start the grace for every holder."""
        for contact in await self._conversations.in_conversation():
            if contact.counsellor_id is not None and contact.state is ContactState.ACTIVE:
                self.schedule_offline(contact.counsellor_id)

    async def _later(self, user_id: int) -> None:
        try:
            await asyncio.sleep(self._grace)
            if self._sockets.count(("user", user_id)) != 0:
                return
            if self.cluster_decides:
                return  # the cluster's liveness sweep decides, with every process's sockets
            await self.went_away(user_id)
        finally:
            self._pending.pop(user_id, None)

    async def went_away(self, user_id: int) -> None:
        """The counsellor is gone: offline, and their live conversations back to the queue."""
        await self._counsellors.set_presence(user_id, Presence.OFFLINE)
        for contact in await self._conversations.held_by(user_id):
            if contact.state not in (ContactState.OFFERED, ContactState.ACTIVE):
                continue  # a wrap-up waits for its own counsellor; the person has gone
            with contextlib.suppress(IllegalTransition):  # it moved on meanwhile
                await self._conversations.requeue(contact.id, "system", "counsellor_offline")
                log.info("contact_requeued", contact_id=contact.id, counsellor_id=user_id)

    async def close(self) -> None:
        """Cancel pending timers (at start every counsellor is offline anyway)."""
        for task in list(self._pending.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
