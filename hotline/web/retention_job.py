"""The scheduled retention purge: once at start-up, then every `retention.run_every_hours`.

A purge at start-up means a hotline that was down when a run was due catches up at once,
and one restarted often still purges. Each pass judges age by the injected clock; the loop
sleeps between passes (a purge that found nothing is a few quick statements), outlives a
pass that fails, and logs counts and error types only, never what was purged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web

from hotline.retention import RetentionSurvey, purge
from hotline.web import keys

log = structlog.get_logger(__name__)

ACTOR = "system"


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the retention purge for the life of the app."""
    db = app[keys.DATABASE]
    clock = app[keys.CLOCK]
    retention = app[keys.CONFIG].retention

    async def run_once() -> RetentionSurvey:
        return await purge(db, clock.now(), retention.records_days, ACTOR, purpose="scheduled")

    task = asyncio.create_task(purge_forever(run_once, retention.run_every_hours * 3600.0))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def purge_forever(
    run_once: Callable[[], Awaitable[RetentionSurvey]],
    every_seconds: float,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Purge now, then after every interval; a failed pass is logged and the next one tried."""
    while True:
        try:
            result = await run_once()
        except Exception as exc:  # the loop must outlive one bad pass
            log.error("retention_failed", error_type=type(exc).__name__)
        else:
            if result.total:
                log.info(
                    "retention_purged",
                    cutoff=result.as_dict()["cutoff"],
                    total=result.total,
                    checkpointed=result.checkpointed,
                    counts={kind: n for kind, n in result.counts.items() if n},
                )
        await sleep(every_seconds)
