"""Dispatch benchmarks for `hotline bench`: how fast a page leaves, how late a step fires.

* `page_latency_p99_ms`: from a coordinator's dispatch request to the page's SMS request
  arriving at the (local) Twilio simulator, through the real app, its page sender and the
  real `twilio` client. Requests are made one after another, as a coordinator would.
* `timer_lateness_p99_ms`: 1,000 dispatches whose next escalation step falls due at the
  same instant; lateness is the time from that instant to the step's commit (its
  `dispatch.paging` event), read from the event log.

Both run the real application (served on a local port so the simulator's webhooks reach it)
with the system clock. The per-recipient throttle is raised for the latency run only: it
exists to delay pages to one person, and the latency run pages the same few people hundreds
of times; the lateness run keeps the configured throttle, as on a bad night.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from aiohttp import web

from dispatch.config import DispatchConfig, load_dispatch_config
from dispatch.desk import DispatchDesk
from dispatch.web import keys as dispatch_keys
from hotline.bench import _percentile
from hotline.clock import from_iso, to_iso
from hotline.config import Config
from hotline.risk import RiskLevel

PAGE_LATENCY_P99_TARGET_MS = 200.0
TIMER_LATENESS_P99_TARGET_MS = 1000.0
SIMULTANEOUS_ESCALATIONS = 1000
LATENESS_LEAD_SECONDS = 3.0  # set-up finishes well before the common due instant


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Stage:
    """The real app on a local port, its Twilio pointed at a simulator in this process."""

    def __init__(self, config: Config, dispatch_config: DispatchConfig) -> None:
        from hotline.twilio_sim import TwilioSimulator

        self.port = _free_port()
        public = f"http://127.0.0.1:{self.port}"
        assert config.telephony.account_sid and config.telephony.auth_token
        self.simulator = TwilioSimulator(
            account_sid=config.telephony.account_sid,
            auth_token=config.telephony.auth_token,
            webhook_base=public,
            hotline_number=config.telephony.phone_number,
        )
        self.config = config
        self.dispatch_config = dispatch_config
        self.public = public
        self.runner: web.AppRunner | None = None

    async def __aenter__(self) -> DispatchDesk:
        from hotline.web.app import create_app

        api = await self.simulator.start()
        self.simulator.add_number(
            self.dispatch_config.paging.from_number, sms_url=f"{self.public}/twilio/paging/sms"
        )
        telephony = replace(self.config.telephony, public_url=self.public, api_base_url=api)
        app = create_app(
            replace(self.config, telephony=telephony), dispatch_config=self.dispatch_config
        )
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return app[dispatch_keys.DESK]

    async def __aexit__(self, *exc: object) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
        await self.simulator.close()


async def bench_page_latency(config: Config, requests: int) -> tuple[float, dict[str, Any]]:
    """p99 ms from `DispatchDesk.request` to the SMS page reaching the simulator."""
    base = load_dispatch_config(config)
    paging = replace(base.paging, max_per_recipient=10**6)
    dispatch_config = replace(base, paging=paging)
    stage = _Stage(config, dispatch_config)
    latencies: list[float] = []
    districts = [d.id for d in config.districts]
    async with stage as desk:
        sim = stage.simulator
        warmup = 10
        for index in range(warmup + requests):
            sms_before = sum(1 for m in sim.rest.sent_messages if m["from"] == paging.from_number)
            started = time.perf_counter()
            row = await desk.request(
                actor="bench", risk=RiskLevel.HIGH, district_id=districts[index % len(districts)]
            )
            texts = await sim.wait_for_messages(
                sms_before + 1, from_=paging.from_number, timeout=10.0
            )
            page_text = texts[sms_before]
            if index >= warmup:
                latencies.append((page_text["arrived"] - started) * 1000)
            await desk.cancel(row.id, "bench", "benchmark")
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(
        f"page_latency: {requests} dispatches, p50 {p50:.2f} ms, p99 {p99:.2f} ms,"
        f" max {max(latencies):.2f} ms",
        flush=True,
    )
    return p99, {
        "dispatches": requests,
        "p50_ms": round(p50, 3),
        "max_ms": round(max(latencies), 3),
    }


async def bench_timer_lateness(config: Config, count: int) -> tuple[float, dict[str, Any]]:
    """p99 ms by which `count` escalation steps due at one instant are late."""
    dispatch_config = load_dispatch_config(config)
    stage = _Stage(config, dispatch_config)
    districts = [d.id for d in config.districts]
    async with stage as desk:
        made = 0
        while made < count:
            async with desk.db.transaction() as tx:
                for _ in range(min(100, count - made)):
                    await desk.request_in(
                        tx,
                        actor="bench",
                        risk=RiskLevel.HIGH,
                        district_id=districts[made % len(districts)],
                    )
                    made += 1
        due = desk.clock.now() + timedelta(seconds=LATENESS_LEAD_SECONDS)
        async with desk.db.transaction() as tx:
            # Every dispatch's next step at one instant: "1,000 escalating at once".
            await tx.execute(
                "UPDATE timers SET due_at = ? WHERE fired_at IS NULL AND kind = ?",
                (to_iso(due), "dispatch.escalation"),
            )
        while await desk.db.fetchval(
            "SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND kind = ? AND due_at <= ?",
            ("dispatch.escalation", to_iso(due)),
        ):
            await asyncio.sleep(0.2)
            if (desk.clock.now() - due).total_seconds() > 60:
                raise RuntimeError("escalation timers did not fire within a minute")
        rows = await desk.db.fetchall(
            "SELECT at FROM events WHERE kind = 'dispatch.paging'"
            f" AND {desk.db.dialect.json_text('data', 'step')} = '1'"
        )
        lateness = [(from_iso(r["at"]) - due).total_seconds() * 1000 for r in rows]
    if len(lateness) != count:
        raise RuntimeError(f"{len(lateness)} of {count} escalation steps ran")
    p50, p99 = _percentile(lateness, 50), _percentile(lateness, 99)
    print(
        f"timer_lateness: {count} steps due at once, p50 {p50:.1f} ms, p99 {p99:.1f} ms,"
        f" max {max(lateness):.1f} ms",
        flush=True,
    )
    return p99, {"escalations": count, "p50_ms": round(p50, 2), "max_ms": round(max(lateness), 2)}
