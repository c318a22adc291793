"""The scheduled early-warning check: every district's window against its baseline, at start
and then every `check_every_minutes`, for the life of the app.

New alerts are stored and appended as `stats.early_warning` events in one transaction, so
they reach the supervisors' live views through the event bus when it commits; the
supervisors' list and acknowledgement are in `hotline.web.warnings_api`. Several processes
may run the loop on one data dir: `raise_alerts` asks "already raised?" under the write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from hotline.clock import Clock
from hotline.config import Config
from hotline.stats.warning import EarlyWarning, raise_alerts
from hotline.store.database import Database
from hotline.web import keys

log = structlog.get_logger(__name__)


class EarlyWarningJob:
    """One app's scheduled check; `first_pass` is set once the check at start has run (so a
    test, or a health probe, can tell the loop is past its start)."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.passes = 0
        self.first_pass = asyncio.Event()

    async def run_once(self) -> list[EarlyWarning]:
        """One check; the alerts it raised (an error is logged by type only, never raised:
        a bad pass must not end the loop)."""
        raised: list[EarlyWarning] = []
        try:
            raised = await raise_alerts(self.db, self.config, self.clock.now())
        except Exception as exc:  # the loop must outlive one bad pass
            log.error("early_warning_failed", error_type=type(exc).__name__)
        for alert in raised:
            log.info(
                "early_warning_raised",
                alert_id=alert.id,
                district=alert.district,
                measure=alert.measure,
            )
        self.passes += 1
        self.first_pass.set()
        return raised

    async def run_forever(self) -> None:
        """Check now, then every `check_every_minutes`."""
        every = self.config.early_warning.check_every_minutes * 60
        while True:
            await self.run_once()
            await asyncio.sleep(every)


# Declared beside its job (not in hotline.web.keys) so the feature is one module to read.
EARLY_WARNING_JOB = web.AppKey("early_warning_job", EarlyWarningJob)


async def early_warning_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the early-warning loop for the life of the app."""
    job = EarlyWarningJob(app[keys.DATABASE], app[keys.CONFIG], app[keys.CLOCK])
    app[EARLY_WARNING_JOB] = job
    task = asyncio.create_task(job.run_forever())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
