"""`hotline bench`: the performance numbers the hotline promises, measured the same way each time.

Two things matter when the phones light up after a city-wide incident:

* **take-next latency** (`take_next_p99_ms`): a counsellor pressing "take next" with ten
  thousand people waiting must get the most urgent one at once. Measured in-process against
  the real `Conversations` service and a real SQLite file, so it is the service's own cost.
* **web-chat intake** (`intake_ratio`): how many conversations per second the real HTTP
  endpoint can start. Absolute requests per second say more about the machine than about the
  code (CI runners and laptops are shared and noisy, and differ by several times), so the
  hotline is compared with a minimal aiohttp handler measured in the same run, on the same
  machine, served and driven the same way. The ratio survives a slow or busy machine; the
  absolute numbers are reported alongside for context only.

Everything runs in a fresh temporary data directory; the configured data directory is never
touched. Results go to stdout as a table and, with `--json`, to a file shaped
`{"metrics": {name: {"value": number, "unit": str}}, "context": {...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import multiprocessing
import os
import platform
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from hotline.clock import SystemClock, to_iso
from hotline.config import Config
from hotline.store.database import Database, Transaction

# -- targets and sizes -------------------------------------------------------------------------

TAKE_NEXT_P99_TARGET_MS = 5.0
INTAKE_RATIO_TARGET = 0.2

QUEUE_BACKLOG = 10_000  # people waiting while "take next" is measured
TAKE_WARMUP = 20  # takes before measuring (first statements compile, caches fill)

VOICE_WEBHOOK_RATIO_TARGET = 0.25

CHAT_PATH = "/chat/api/conversations"
CHAT_BODY = json.dumps({"district": "jinghu", "lang": "zh-CN"}).encode("utf-8")
VOICE_PATH = "/twilio/voice"
# Credentials for the benchmark's own throwaway hotline; nothing reaches Twilio.
BENCH_ACCOUNT_SID = "AC" + "b" * 32
BENCH_AUTH_TOKEN = "bench-auth-token"  # noqa: S105 (a throwaway, local-only token)
BENCH_PUBLIC_URL = "https://hotline.bench.invalid"
VOICE_PARAMS = {
    "CallSid": "CA" + "c" * 32,
    "AccountSid": BENCH_ACCOUNT_SID,
    "From": "+8613900000000",
    "To": "+865533110000",
    "CallStatus": "ringing",
    "Direction": "inbound",
}


@dataclass(frozen=True)
class Workload:
    """One kind of request measured against the hotline and against a minimal handler."""

    name: str
    path: str
    body: bytes
    headers: dict[str, str]
    status: int
    # What the minimal yardstick does with the body: "json" parses it, "form" reads it.
    minimal: str
    # The first bytes every good answer starts with (checked on every response).
    answer_prefix: bytes = b""


def _workloads() -> dict[str, Workload]:
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator

    signature = RequestValidator(BENCH_AUTH_TOKEN).compute_signature(
        BENCH_PUBLIC_URL + VOICE_PATH, VOICE_PARAMS
    )
    return {
        "intake": Workload(
            "intake", CHAT_PATH, CHAT_BODY, {"Content-Type": "application/json"}, 201, "json"
        ),
        "voice": Workload(
            "voice",
            VOICE_PATH,
            urlencode(VOICE_PARAMS).encode("ascii"),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            },
            200,
            "form",
            answer_prefix=b"<?xml",
        ),
    }


CONCURRENCY = 32
SERVER_START_SECONDS = 60.0


@dataclass(frozen=True)
class Sizes:
    """How much work one run does; `--quick` keeps the smoke check (and its test) short."""

    takes: int
    warmup_seconds: float
    measure_seconds: float
    rounds: int  # alternations minimal/hotline; the best round of each counts
    pages: int = 200  # dispatches whose page latency is measured
    escalations: int = 1000  # dispatches escalating at the same instant
    stats_contacts: int = 100_000  # contacts in the month the statistics are computed over
    fanout_consoles: int = 500  # consoles spread over two gateway processes
    fanout_rounds: int = 20  # arrivals whose fan-out is timed

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        """Quick: a few seconds in all. Full: longer and repeated, to smooth out noise."""
        if quick:
            return cls(
                takes=200,
                warmup_seconds=0.3,
                measure_seconds=1.5,
                rounds=1,
                pages=30,
                escalations=200,
                stats_contacts=5_000,
                fanout_consoles=40,
                fanout_rounds=3,
            )
        return cls(takes=1000, warmup_seconds=1.0, measure_seconds=5.0, rounds=2)


@dataclass(frozen=True)
class Metric:
    """One reported number."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    """The metrics of a run, plus the context needed to read them."""

    metrics: list[Metric] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The `--json` file's shape."""
        return {
            "metrics": {m.name: {"value": m.value, "unit": m.unit} for m in self.metrics},
            "context": self.context,
        }


def run_benchmarks(
    config: Config, *, quick: bool, json_path: Path | None, redis_url: str | None = None
) -> int:
    """Run every benchmark against a throwaway copy of the data dir; print and save the results.

    Returns 0: a missed target is reported (marked in the table), not an error, so a slow CI
    machine does not fail the command; whoever reads the numbers judges them.
    """
    sizes = Sizes.of(quick)
    report = Report(
        context={
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "quick": quick,
        }
    )
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        bench_config = _bench_config(config, Path(tmp))
        print(f"hotline bench ({'quick' if quick else 'full'}) in {tmp}", flush=True)
        with _quiet_logs():
            take = asyncio.run(
                _bench_take_next(replace(bench_config, data_dir=Path(tmp) / "take"), sizes)
            )
        report.metrics.extend(take.metrics)
        report.context["take_next"] = take.context
        workloads = _workloads()
        intake = _bench_ratio(
            workloads["intake"], replace(bench_config, data_dir=Path(tmp) / "intake"), sizes
        )
        report.metrics.extend(intake.metrics)
        report.context["intake"] = intake.context
        voice = _bench_ratio(
            workloads["voice"], replace(bench_config, data_dir=Path(tmp) / "voice"), sizes
        )
        report.metrics.extend(voice.metrics)
        report.context["voice_webhook"] = voice.context
        with _quiet_logs():
            dispatch = asyncio.run(
                _bench_dispatch(replace(bench_config, data_dir=Path(tmp) / "dispatch"), sizes)
            )
        report.metrics.extend(dispatch.metrics)
        report.context["dispatch"] = dispatch.context
        with _quiet_logs():
            stats = asyncio.run(
                _bench_stats(replace(bench_config, data_dir=Path(tmp) / "stats"), sizes)
            )
        report.metrics.extend(stats.metrics)
        report.context["stats"] = stats.context
        with _quiet_logs():
            scaleout = asyncio.run(
                _bench_scaleout(
                    replace(bench_config, data_dir=Path(tmp) / "scaleout"), sizes, redis_url
                )
            )
        report.metrics.extend(scaleout.metrics)
        report.context["scaleout"] = scaleout.context

    _print_table(report.metrics)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report.as_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {json_path}")
    return 0


def _bench_config(config: Config, data_dir: Path) -> Config:
    """The given config in a temporary data dir, with the chat start limiter out of the way.

    The limiter allows a few starts per client address per minute; the load generator is one
    address sending thousands, so left alone it would measure 429 answers, not intake. The
    data key is dropped too: the throwaway data dir gets a throwaway key file, and the real
    key never meets benchmark data.
    """
    webchat = replace(config.webchat, starts_per_minute=10**9, messages_per_window=10**9)
    telephony = replace(
        config.telephony,
        account_sid=BENCH_ACCOUNT_SID,
        auth_token=BENCH_AUTH_TOKEN,
        public_url=BENCH_PUBLIC_URL,
        api_key_sid=None,
        api_key_secret=None,
    )
    return replace(config, data_dir=data_dir, webchat=webchat, telephony=telephony, data_key=None)


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """Drop info lines (one per take) while measuring in this process; restore after.

    Writing a thousand JSON lines to a terminal would make the output unreadable and charge
    the terminal's speed to the service. The previous structlog settings come back afterwards
    so a caller (or a test run) keeps its own logging.
    """
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    try:
        yield
    finally:
        structlog.configure(**saved)


# -- take next ---------------------------------------------------------------------------------

# Roughly how risk is spread among people waiting on a bad night: most unknown or low, a few
# urgent. The urgent ones are answered first, so takes walk the index from its high end.
_RISK_MIX = (("none", 50), ("low", 25), ("moderate", 15), ("high", 8), ("imminent", 2))


async def _bench_take_next(config: Config, sizes: Sizes) -> Report:
    """p50/p99 of `Conversations.take_next` with at least `QUEUE_BACKLOG` people waiting."""
    from hotline.conversations import Conversations
    from hotline.counsellors import Counsellors, Presence
    from hotline.crypto import FieldCipher
    from hotline.store.database import DB_FILE
    from hotline.users import Role, Users

    db = await Database.open(config.data_dir / DB_FILE, SystemClock())
    try:
        cipher = FieldCipher(os.urandom(32))
        counsellors = Counsellors(db)
        conversations = Conversations(db, cipher, config, counsellors)
        user = await Users(db, cipher).add("bench", "Bench", Role.COUNSELLOR, "bench-password-1")
        await counsellors.set_presence(user.id, Presence.AVAILABLE)

        # Seeded once with enough extra that the queue never drops below the backlog while
        # measuring: topping up between takes would put inserts inside the timed window.
        total = QUEUE_BACKLOG + TAKE_WARMUP + sizes.takes
        seed_started = time.perf_counter()
        await _seed_queue(db, config, total)
        seed_seconds = time.perf_counter() - seed_started
        waiting_before = await conversations.queue_length()

        for _ in range(TAKE_WARMUP):
            assert await conversations.take_next(user.id) is not None
        latencies: list[float] = []
        for _ in range(sizes.takes):
            started = time.perf_counter()
            taken = await conversations.take_next(user.id)
            latencies.append((time.perf_counter() - started) * 1000)
            assert taken is not None
        waiting_after = await conversations.queue_length()
    finally:
        await db.close()

    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(
        f"take_next: {sizes.takes} takes, {waiting_before}→{waiting_after} waiting, "
        f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {max(latencies):.3f} ms",
        flush=True,
    )
    return Report(
        metrics=[
            Metric(
                "take_next_p99_ms",
                round(p99, 4),
                "ms",
                f"< {TAKE_NEXT_P99_TARGET_MS:g}",
                p99 < TAKE_NEXT_P99_TARGET_MS,
            )
        ],
        context={
            "takes": sizes.takes,
            "warmup_takes": TAKE_WARMUP,
            "waiting_before": waiting_before,
            "waiting_after": waiting_after,
            "p50_ms": round(p50, 4),
            "p99_ms": round(p99, 4),
            "max_ms": round(max(latencies), 4),
            "seed_seconds": round(seed_seconds, 3),
        },
    )


async def _bench_dispatch(config: Config, sizes: Sizes) -> Report:
    """Page latency and escalation-timer lateness (dispatch/bench.py), each on fresh data."""
    from dispatch.bench import (
        PAGE_LATENCY_P99_TARGET_MS,
        TIMER_LATENESS_P99_TARGET_MS,
        bench_page_latency,
        bench_timer_lateness,
    )

    latency, latency_context = await bench_page_latency(
        replace(config, data_dir=config.data_dir / "latency"), sizes.pages
    )
    lateness, lateness_context = await bench_timer_lateness(
        replace(config, data_dir=config.data_dir / "lateness"), sizes.escalations
    )
    return Report(
        metrics=[
            Metric(
                "page_latency_p99_ms",
                round(latency, 3),
                "ms",
                f"< {PAGE_LATENCY_P99_TARGET_MS:g}",
                latency < PAGE_LATENCY_P99_TARGET_MS,
            ),
            Metric(
                "timer_lateness_p99_ms",
                round(lateness, 2),
                "ms",
                f"< {TIMER_LATENESS_P99_TARGET_MS:g}",
                lateness < TIMER_LATENESS_P99_TARGET_MS,
            ),
        ],
        context={"page_latency": latency_context, "timer_lateness": lateness_context},
    )


async def _bench_stats(config: Config, sizes: Sizes) -> Report:
    """A month's statistics over a busy event log, and the event-loop lag meanwhile."""
    from hotline.stats.bench import LOOP_LAG_P99_TARGET_MS, bench_stats

    elapsed, lag, context = await bench_stats(config, sizes.stats_contacts)
    print(
        f"stats: a month of {sizes.stats_contacts} contacts in {elapsed:.0f} ms, "
        f"event-loop lag p99 {lag:.1f} ms",
        flush=True,
    )
    return Report(
        metrics=[
            Metric("stats_month_ms", round(elapsed, 1), "ms"),
            Metric(
                "stats_loop_lag_p99_ms",
                round(max(lag, 0.001), 3),
                "ms",
                f"< {LOOP_LAG_P99_TARGET_MS:g}",
                lag < LOOP_LAG_P99_TARGET_MS,
            ),
        ],
        context=context,
    )


async def _bench_scaleout(config: Config, sizes: Sizes, url: str | None) -> Report:
    """Take-next through the Redis index, and fan-out over two gateway processes, on the
    Redis at `url` (`hotline bench --redis`), else `[redis] url`, else 127.0.0.1:6379."""
    from hotline.cluster.bench import (
        FANOUT_P99_TARGET_MS,
        TAKE_NEXT_REDIS_P99_TARGET_MS,
        bench_fanout,
        bench_take_next_redis,
        redis_answers,
        redis_url,
    )

    url = url or redis_url(config)
    config = replace(config, redis=replace(config.redis, url=url))
    if not await redis_answers(url):
        print(f"scale-out: Redis does not answer at {url}: not measured", flush=True)
        return Report(context={"measured": False, "redis": url})
    take_p99, take_context = await bench_take_next_redis(
        replace(config, data_dir=config.data_dir / "take"),
        sizes.takes,
        QUEUE_BACKLOG,
        TAKE_WARMUP,
    )
    fan_dir = config.data_dir / "fanout"
    fan_dir.mkdir(parents=True, exist_ok=True)
    fan_p99, fan_context = await bench_fanout(
        config, fan_dir, sizes.fanout_consoles, sizes.fanout_rounds
    )
    print(
        f"scale-out: take_next via Redis p99 {take_p99:.3f} ms; an arrival reached "
        f"{sizes.fanout_consoles} consoles on 2 gateways, p99 {fan_p99:.1f} ms",
        flush=True,
    )
    return Report(
        metrics=[
            Metric(
                "take_next_p99_ms_redis",
                round(take_p99, 4),
                "ms",
                f"< {TAKE_NEXT_REDIS_P99_TARGET_MS:g}",
                take_p99 < TAKE_NEXT_REDIS_P99_TARGET_MS,
            ),
            Metric(
                "fanout_p99_ms",
                round(fan_p99, 2),
                "ms",
                f"< {FANOUT_P99_TARGET_MS:g}",
                fan_p99 < FANOUT_P99_TARGET_MS,
            ),
        ],
        context={"measured": True, "take_next": take_context, "fanout": fan_context},
    )


async def _seed_queue(db: Database, config: Config, count: int) -> None:
    """Insert `count` queued web-chat contacts (and their events) in one transaction.

    Mirrors the rows `Conversations.start_webchat` writes, without paying a transaction per
    row: the benchmark is about taking from a long queue, not about filling it.
    """
    from hotline.crypto import token_digest
    from hotline.risk import RiskLevel

    rng = random.Random(20261123)  # the same queue every run
    levels = [RiskLevel(name) for name, _ in _RISK_MIX]
    weights = [weight for _, weight in _RISK_MIX]
    districts: list[str | None] = [d.id for d in config.districts] or [None]
    async with db.transaction() as tx:
        now = tx.clock.now()
        first = int(await _scalar(tx, "SELECT COALESCE(MAX(id), 0) + 1 FROM contacts"))
        contacts = []
        events = []
        for contact_id in range(first, first + count):
            risk = rng.choices(levels, weights)[0]
            waiting_since = to_iso(now - timedelta(seconds=rng.uniform(0, 7200)))
            district = rng.choice(districts)
            contacts.append(
                (
                    contact_id,
                    "webchat",
                    "queued",
                    risk.value,
                    risk.rank,
                    district,
                    "zh-CN",
                    waiting_since,
                    token_digest(f"bench-{contact_id}"),
                    waiting_since,
                    waiting_since,
                )
            )
            events.append(
                (
                    waiting_since,
                    "caller",
                    "contact.queued",
                    f"contact:{contact_id}",
                    json.dumps({"channel": "webchat", "district": district, "risk": risk.value}),
                )
            )
        await tx.conn.executemany(
            "INSERT INTO contacts (id, channel, state, risk, risk_rank, district, lang,"
            " waiting_since, caller_token_hash, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            contacts,
        )
        await tx.conn.executemany(
            "INSERT INTO events (at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?)", events
        )
    # No ANALYZE: the hotline never runs one, so the planner here must choose its plan from
    # the same (absent) statistics as in production. The bulk insert's WAL is checkpointed
    # away so that every run starts measuring from the same, empty write-ahead log.
    await db.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")


async def _scalar(tx: Transaction, sql: str) -> Any:
    row = await tx.fetchone(sql)
    return None if row is None else row[0]


def _percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value at or above `pct`% of the samples."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# -- web-chat intake ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Server:
    """A server subprocess and how to reach it."""

    kind: str
    process: BaseProcess
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass(frozen=True)
class _Round:
    """One measured burst against one server."""

    requests: int
    seconds: float
    server_cpu_seconds: float | None

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def _bench_ratio(workload: Workload, config: Config, sizes: Sizes) -> Report:
    """Requests per second of a hotline endpoint, relative to a minimal aiohttp handler.

    `intake`: web-chat conversations started (POST /chat/api/conversations, JSON); `voice`:
    signed Twilio voice webhooks answered with TwiML (POST /twilio/voice, form-encoded,
    signature checked with twilio's validator) against a handler that only reads the form.

    Both servers run in their own subprocess, started the same way (spawned interpreter,
    `AppRunner` + `TCPSite` on 127.0.0.1, no access log, info logs off), and both are driven
    by this process with one client session at the same concurrency for the same time, with
    the same request bytes. Full runs alternate the two servers and keep each one's best
    round, so a burst of noise from a neighbour hurts neither side alone.

    One Python client cannot always saturate the minimal server (on a small machine it tops
    out first), which flatters the ratio rather than hurting it; `server_cpu_share` in the
    context (server CPU seconds per wall second) shows which side was the limit.
    """
    started: list[tuple[str, BaseProcess, Connection]] = []
    try:
        # Start both before measuring either: the idle one costs nothing, and the hotline's
        # slower start (migrations, key file) overlaps with the minimal one's.
        started.append(_spawn("minimal", None, workload))
        started.append(_spawn("hotline", config, workload))
        servers = [_await_port(kind, proc, conn) for kind, proc, conn in started]
        rounds = asyncio.run(_drive_rounds(servers, sizes, workload))
    finally:
        for _, process, conn in started:
            conn.close()
            _stop(process)

    best = {kind: max(results, key=lambda r: r.per_second) for kind, results in rounds.items()}
    minimal, hotline = best["minimal"].per_second, best["hotline"].per_second
    ratio = hotline / minimal
    for kind in ("minimal", "hotline"):
        shown = ", ".join(f"{r.per_second:.0f}/s" for r in rounds[kind])
        print(f"{workload.name} {kind}: {shown} (best {best[kind].per_second:.0f}/s)", flush=True)
    if workload.name == "intake":
        names, target = (
            ("intake_ratio", "intake_per_second", "minimal_per_second"),
            INTAKE_RATIO_TARGET,
        )
    else:
        names = ("voice_webhook_ratio", "voice_webhook_per_second", "minimal_form_per_second")
        target = VOICE_WEBHOOK_RATIO_TARGET
    return Report(
        metrics=[
            Metric(names[0], round(ratio, 4), "ratio", f">= {target:g}", ratio >= target),
            Metric(names[1], round(hotline, 1), "requests/s"),
            Metric(names[2], round(minimal, 1), "requests/s"),
        ],
        context={
            "concurrency": CONCURRENCY,
            "warmup_seconds": sizes.warmup_seconds,
            "measure_seconds": sizes.measure_seconds,
            "rounds": sizes.rounds,
            "per_round": {
                kind: [
                    {
                        "requests": r.requests,
                        "seconds": round(r.seconds, 3),
                        "per_second": round(r.per_second, 1),
                        # Near 1.0: the server was the bottleneck; well below: the client was.
                        "server_cpu_share": None
                        if r.server_cpu_seconds is None
                        else round(r.server_cpu_seconds / r.seconds, 3),
                    }
                    for r in results
                ]
                for kind, results in rounds.items()
            },
        },
    )


def _spawn(
    kind: str, config: Config | None, workload: Workload
) -> tuple[str, BaseProcess, Connection]:
    """Start a server in a fresh interpreter ("spawn": nothing inherited from this process)."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_serve, args=(kind, config, workload, send), name=f"bench-{kind}", daemon=True
    )
    process.start()
    send.close()
    return kind, process, receive


def _await_port(kind: str, process: BaseProcess, conn: Connection) -> _Server:
    """The port the child bound, once it says it is listening."""
    with conn:
        if not conn.poll(SERVER_START_SECONDS):
            raise RuntimeError(f"the {kind} server did not start within {SERVER_START_SECONDS:g} s")
        try:
            port = conn.recv()
        except EOFError:
            raise RuntimeError(
                f"the {kind} server exited while starting (exit code {process.exitcode})"
            ) from None
    return _Server(kind, process, int(port))


def _stop(process: BaseProcess) -> None:
    """Ask a server to shut down cleanly (SIGTERM); kill it if it does not."""
    if process.is_alive():
        process.terminate()
        process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)
    if hasattr(process, "close"):
        process.close()


def _serve(kind: str, config: Config | None, workload: Workload, conn: Connection) -> None:
    """Child process: serve one app on a free local port until SIGTERM."""
    from hotline.logs import configure_logging

    # Ctrl-C reaches the whole process group; the parent's cleanup stops this child cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # One JSON line per request to a shared stdout would measure the terminal, not the server.
    configure_logging(level="warning")
    asyncio.run(_serve_async(kind, config, workload, conn))


async def _serve_async(
    kind: str, config: Config | None, workload: Workload, conn: Connection
) -> None:
    if kind == "hotline":
        from hotline.web.app import create_app

        assert config is not None
        app = create_app(config)
    else:
        app = _minimal_app(workload)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        address = runner.addresses[0]
        conn.send(int(address[1]))
        conn.close()
        await stop.wait()
    finally:
        await runner.cleanup()


def _minimal_app(workload: Workload) -> web.Application:
    """The yardstick: aiohttp reading the body (JSON or form) and answering, nothing else."""

    async def json_body(request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"ok": True}, status=workload.status)

    async def form_body(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(
            body=b'<?xml version="1.0" encoding="UTF-8"?><Response/>',
            content_type="text/xml",
            status=workload.status,
        )

    app = web.Application()
    app.router.add_post(workload.path, json_body if workload.minimal == "json" else form_body)
    return app


async def _drive_rounds(
    servers: list[_Server], sizes: Sizes, workload: Workload
) -> dict[str, list[_Round]]:
    """Wait for each server, warm it up, then alternate measured rounds."""
    rounds: dict[str, list[_Round]] = {s.kind: [] for s in servers}
    for server in servers:
        await _wait_ready(server, workload)
    for server in servers:
        await _load(server, sizes.warmup_seconds, workload)
    for _ in range(sizes.rounds):
        for server in servers:
            rounds[server.kind].append(await _load(server, sizes.measure_seconds, workload))
    return rounds


async def _wait_ready(server: _Server, workload: Workload) -> None:
    """Poll until the server answers: /healthz for the hotline, the endpoint itself otherwise."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                if server.kind == "hotline":
                    async with session.get(f"http://127.0.0.1:{server.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                else:
                    async with session.post(
                        server.url(workload.path), data=workload.body, headers=workload.headers
                    ) as resp:
                        if resp.status == workload.status:
                            return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {server.kind} server never became ready")
            await asyncio.sleep(0.05)


async def _load(server: _Server, seconds: float, workload: Workload) -> _Round:
    """Keep `CONCURRENCY` requests in flight for `seconds`; count the good answers.

    In-flight requests at the deadline are allowed to finish and are counted, with the time
    they took, so the rate is not biased by cutting the last requests off.
    """
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    url = server.url(workload.path)
    done = 0
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker(deadline: float) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(url, data=workload.body, headers=workload.headers) as resp:
                    body = await resp.read()
                    if resp.status != workload.status or not body.startswith(
                        workload.answer_prefix
                    ):
                        raise RuntimeError(
                            f"{server.kind}: {workload.path} answered {resp.status}: {body[:200]!r}"
                        )
                done += 1

        cpu_before = _cpu_seconds(server.process.pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker(started + seconds) for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
        cpu_after = _cpu_seconds(server.process.pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return _Round(done, elapsed, cpu)


def _cpu_seconds(pid: int | None) -> float | None:
    """CPU time a process has used (Linux /proc; None elsewhere)."""
    if pid is None:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- output ------------------------------------------------------------------------------------


def _print_table(metrics: Sequence[Metric]) -> None:
    rows = [("metric", "value", "unit", "target", "")]
    for m in metrics:
        verdict = "" if m.met is None else ("ok" if m.met else "MISSED")
        rows.append((m.name, f"{m.value:g}", m.unit, m.target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print()
    for index, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))
    sys.stdout.flush()
