"""Telephony webhooks while the store does not answer: keep, answer, replay.

Each voice or SMS webhook step that records something runs through `StoreAway.step`: against
the store as usual, or, when the store does not answer (`Database.unreachable`), the step is
kept in the spool (hotline.spool) and the person gets the answer that keeps them safe without
the store: a caller is held in Twilio's queue (and sent to the backup line after the usual
wait), a texter gets the usual acknowledgement. While records wait in the spool, new steps
queue behind them, so a call's hang-up is never applied before the arrival it belongs to.

`replay_forever` then feeds the kept steps, oldest first, through the channel methods the
webhooks call (their TwiML is not needed any more: Twilio was answered at the time), once
the store answers again. A step the store refuses for another reason (a bug, a constraint)
is set aside in the spool file for the operator, logged, and the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import structlog

from hotline.spool import Kept, Spool

log = structlog.get_logger(__name__)

T = TypeVar("T")
# A kept step applied to the store: its payload and the instant it arrived.
Replayer = Callable[[Mapping[str, Any], datetime], Awaitable[object]]

# How often the replay looks for kept steps, and how long it waits after the store failed.
LOOK_SECONDS = 2.0
RETRY_SECONDS = 5.0


class StoreAway:
    """Runs webhook steps against the store, or keeps them until it answers again."""

    def __init__(self, spool: Spool, unreachable: tuple[type[BaseException], ...]) -> None:
        self.spool = spool
        self._unreachable = unreachable
        self._replayers: dict[str, Replayer] = {}
        self.replayed = 0

    def on_replay(self, kind: str, replayer: Replayer) -> None:
        """How kept steps of one kind are applied to the store."""
        self._replayers[kind] = replayer

    async def step(
        self,
        kind: str | None,
        payload: Mapping[str, Any],
        run: Callable[[], Awaitable[T]],
        without_store: Callable[[], T],
    ) -> T:
        """`run()` against the store; if it does not answer, keep the step (kind None:
        nothing to keep) and answer `without_store()`."""
        if kind is not None and self.spool.waiting:
            await self.spool.keep(kind, dict(payload))
            log.info("store_step_queued_behind_spool", step=kind)
            return without_store()
        try:
            return await run()
        except self._unreachable as exc:
            if kind is not None:
                await self.spool.keep(kind, dict(payload))
            log.warning("store_unreachable_step_kept", step=kind, error_type=type(exc).__name__)
            return without_store()

    async def replay(self) -> int:
        """Apply every kept step the store will take now; returns how many were applied."""
        applied = 0
        while (kept := await self.spool.claim_oldest()) is not None:
            replayer = self._replayers.get(kept.kind)
            try:
                if replayer is None:
                    raise LookupError(f"no replay for {kept.kind!r}")
                await replayer(kept.payload, kept.kept_at)
            except self._unreachable as exc:
                await self.spool.release(kept)
                log.info("spool_replay_paused", error_type=type(exc).__name__)
                break
            except asyncio.CancelledError:
                # The gateway is stopping: give the record back now, or the next process
                # would wait out the claim (a minute) before replaying it.
                await self.spool.release(kept)
                raise
            except Exception as exc:  # set aside for the operator, never block the rest
                await self.spool.set_aside(kept)
                log.error(
                    "spool_record_set_aside",
                    record=kept.id,
                    step=kept.kind,
                    error_type=type(exc).__name__,
                )
                continue
            await self.spool.done(kept)
            applied += 1
        self.replayed += applied
        if applied:
            log.info("spool_replayed", records=applied, waiting=self.spool.waiting)
        return applied

    async def replay_forever(self) -> None:
        """Look for kept steps every few seconds (also those another process sharing the
        data dir kept) and replay them while the store answers."""
        while True:
            try:
                if await self.spool.count():
                    await self.replay()
                    await self.spool.count()
                await asyncio.sleep(LOOK_SECONDS if not self.spool.waiting else RETRY_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the spool file itself failed: say so, try again
                log.error("spool_replay_failed", error_type=type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)


__all__ = ["Kept", "StoreAway"]
