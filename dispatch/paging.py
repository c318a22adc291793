"""Sending pages: texts and calls through the provider, a few at a time, recorded as they go.

Escalation steps create pages as `pending` rows in their own transaction; this sender claims
due rows (`sending`), talks to the provider outside any transaction, and records each result
(`sent` with the provider's id, or `failed` with a reason) in one transaction per batch. A
page whose dispatch was accepted or cancelled in the meantime is not sent. After a crash,
pages left `sending` go out again: a responder may get a text twice, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from dispatch.config import DispatchConfig
from dispatch.links import page_link
from dispatch.policies import PageChannel
from dispatch.store import DispatchRow, DispatchStore, PageRow
from hotline.clock import Clock, to_iso
from hotline.config import Config
from hotline.crypto import FieldCipher

log = structlog.get_logger(__name__)

BATCH = 500
CONCURRENCY = 32
IDLE_SECONDS = 1.0


class PageGateway(Protocol):
    """The provider calls paging needs (TwilioGateway has them)."""

    async def send_sms(
        self, to: str, body: str, status_callback: str, *, from_: str | None = None
    ) -> tuple[str, str]: ...

    async def place_paging_call(
        self, to: str, *, url: str, from_: str, status_callback: str
    ) -> str: ...


@dataclass(frozen=True)
class SendResult:
    """What became of one page."""

    page: PageRow
    sid: str | None = None
    delivery: str | None = None
    error: str | None = None


class Pager:
    """Sends due pages; `wake()` makes it look now rather than at its next tick."""

    def __init__(
        self,
        store: DispatchStore,
        config: Config,
        dispatch_config: DispatchConfig,
        cipher: FieldCipher,
        clock: Clock,
        gateway: PageGateway | None,
    ) -> None:
        self._store = store
        self._config = config
        self._dispatch = dispatch_config
        self._cipher = cipher
        self._clock = clock
        self.gateway = gateway
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(CONCURRENCY)

    def wake(self) -> None:
        """New pages may be due: look now."""
        self._wake.set()

    async def run(self) -> None:
        """Send pages as they fall due, for the life of the app."""
        while True:
            self._wake.clear()
            delay = IDLE_SECONDS
            try:
                while await self.send_due():
                    pass
                upcoming = await self._store.next_page_due()
                if upcoming is not None:
                    delay = max(0.0, min(delay, (upcoming - self._clock.now()).total_seconds()))
            except Exception as exc:  # the loop must outlive one bad batch and a store away
                log.error("paging_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def send_due(self) -> int:
        """Send one batch of due pages; returns how many were handled."""
        async with self._store.db.transaction() as tx:
            pages = await self._store.claim_due_pages(tx, self._clock.now(), BATCH)
            if not pages:
                return 0
            dispatches = await self._store.many(tx, sorted({p.dispatch_id for p in pages}))
            stale = [p for p in pages if not dispatches[p.dispatch_id].state.awaiting_acceptance]
            for page in stale:
                await self._store.update_page(tx, page.id, state="cancelled")
        live = [p for p in pages if p not in stale]
        results = await asyncio.gather(*(self._send(p, dispatches[p.dispatch_id]) for p in live))
        await self._record(list(results))
        return len(pages)

    async def _send(self, page: PageRow, dispatch: DispatchRow) -> SendResult:
        if self.gateway is None:
            return SendResult(page, error="telephony_off")
        phone = await self._store.phone(page.team_id, page.member_id)
        if phone is None:
            return SendResult(page, error="no_number")
        public = self._config.telephony.public_url
        status_url = f"{public}/twilio/paging/status?page={page.id}"
        paging = self._dispatch.paging
        async with self._limit:
            try:
                if page.channel == PageChannel.SMS.value:
                    body = self.sms_text(dispatch, page)
                    sid, status = await self.gateway.send_sms(
                        phone, body, status_url, from_=paging.from_number
                    )
                    return SendResult(page, sid=sid, delivery=status)
                sid = await self.gateway.place_paging_call(
                    phone,
                    url=f"{public}/twilio/paging/voice?page={page.id}",
                    from_=paging.from_number,
                    status_callback=status_url,
                )
                return SendResult(page, sid=sid, delivery="queued")
            except Exception as exc:  # a provider failure is recorded on the page, not raised
                return SendResult(page, error=f"provider:{type(exc).__name__}")

    def sms_text(self, dispatch: DispatchRow, page: PageRow) -> str:
        """A page's text: code, team, district, risk and the link; nothing about the person."""
        texts = self._dispatch.paging.texts
        return texts["page_sms"].format(
            code=dispatch.code,
            link=page_link(
                self._config.telephony.public_url,
                self._cipher,
                page.id,
                self._clock.now(),
                self._dispatch.paging.link_hours,
            ),
            **self.facts(dispatch),
        )

    def facts(self, dispatch: DispatchRow) -> dict[str, str]:
        """The routing facts a page may say aloud: team, district, risk."""
        team = self._dispatch.teams.get(dispatch.team_id)
        district = self._config.district(dispatch.district_id) if dispatch.district_id else None
        return {
            "team": team.name_zh if team else dispatch.team_id,
            "district": district.name_zh if district else self._config.name_zh,
            "risk": self._dispatch.paging.risk_names[dispatch.risk],
        }

    async def _record(self, results: list[SendResult]) -> None:
        if not results:
            return
        async with self._store.db.transaction() as tx:
            now: datetime = tx.clock.now()
            events = []
            for result in results:
                page = result.page
                data = {
                    "page": page.id,
                    "channel": page.channel,
                    "team": page.team_id,
                    "member": page.member_id,
                }
                if result.error:
                    await self._store.update_page(tx, page.id, state="failed", error=result.error)
                    events.append(
                        (
                            "dispatch.page_failed",
                            f"dispatch:{page.dispatch_id}",
                            "system",
                            {**data, "error": result.error},
                        )
                    )
                else:
                    await self._store.record_sent(
                        tx, page.id, sent_at=now, sid=result.sid, delivery=result.delivery
                    )
                    events.append(
                        ("dispatch.page_sent", f"dispatch:{page.dispatch_id}", "system", data)
                    )
            await tx.append_events(events)
        failed = sum(1 for r in results if r.error)
        log.info("pages_sent", sent=len(results) - failed, failed=failed, at=to_iso(now))
