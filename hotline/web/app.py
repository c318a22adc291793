"""The application factory: builds the web app from an already-validated config.

`create_app` reads no environment and no argv (the CLI does), so tests build the very same
app with a config of their own. Each resource is opened and closed by one `*_ctx` generator
in `cleanup_ctx`; background loops are started and cancelled there too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from importlib import resources

import structlog
from aiohttp import web

from dispatch.config import DispatchConfig, load_dispatch_config
from dispatch.desk import DispatchDesk
from dispatch.followups.service import FollowUps
from dispatch.followups.settings import FollowUpSettings, load_followup_settings
from dispatch.followups.views import Labels
from dispatch.incidents.plans import Plans, load_plans
from dispatch.incidents.service import IncidentDesk
from dispatch.web import keys as dispatch_keys
from dispatch.web.routes import setup_dispatch
from hotline.channels.sms import SmsChannel, setup_sms
from hotline.channels.store_away import StoreAway
from hotline.channels.twilio_api import TwilioGateway
from hotline.channels.voice import VoiceChannel, setup_voice
from hotline.channels.webchat import setup_chat
from hotline.clock import Clock, SystemClock, to_iso
from hotline.config import Config
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors
from hotline.events import EventBus
from hotline.sessions import Sessions
from hotline.spool import Spool
from hotline.store.contacts import ContactRepository
from hotline.store.engine import open_database
from hotline.store.keycheck import data_cipher, verify_data_key
from hotline.triage.scanner import TextRiskScanner
from hotline.users import Users
from hotline.web import keys
from hotline.web.audit_page import setup_audit_page
from hotline.web.auth import setup_auth
from hotline.web.cluster import TickGate, closed_within, cluster_ctx, tick_gate
from hotline.web.console import setup_console
from hotline.web.early_warning_job import early_warning_ctx
from hotline.web.errors import setup_errors
from hotline.web.forwarded import setup_forwarded
from hotline.web.health import setup_health
from hotline.web.presence import PresenceWatch
from hotline.web.ratelimit import RateLimiter
from hotline.web.request_context import setup_request_context
from hotline.web.retention_job import retention_ctx
from hotline.web.stats_page import setup_stats
from hotline.web.warnings_api import setup_early_warnings
from hotline.web.websockets import SocketRegistry

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 5.0
ALARM_SECONDS = 1.0
ESCALATION_TICK_SECONDS = 0.25
FOLLOWUP_TICK_SECONDS = 1.0


def create_app(
    config: Config,
    *,
    clock: Clock | None = None,
    dispatch_config: DispatchConfig | None = None,
    followup_settings: FollowUpSettings | None = None,
    plans: Plans | None = None,
) -> web.Application:
    """Build the hotline's web application (teams and follow-up schedules are read now: a
    typo fails here, not later)."""
    app = web.Application(client_max_size=256 * 1024)
    clock = clock or SystemClock()
    app[keys.CONFIG] = config
    app[dispatch_keys.DISPATCH_CONFIG] = dispatch_config or load_dispatch_config(config)
    app[dispatch_keys.FOLLOWUP_SETTINGS] = followup_settings or load_followup_settings(config)
    app[dispatch_keys.PLANS] = plans or load_plans(config, app[dispatch_keys.DISPATCH_CONFIG])
    app[keys.CLOCK] = clock
    app[keys.BUS] = EventBus()
    app[keys.SOCKETS] = SocketRegistry()
    chat = config.webchat
    app[keys.CHAT_START_LIMITER] = RateLimiter(clock, chat.starts_per_minute, 60)
    app[keys.CHAT_MESSAGE_LIMITER] = RateLimiter(
        clock, chat.messages_per_window, chat.window_seconds
    )
    app[keys.LOGIN_LIMITER] = RateLimiter(clock, 20, 60)

    # Order matters: the request id must be bound before anything else logs, and the error
    # middleware sits inside it so the summary line records the status it produced.
    setup_request_context(app)
    setup_forwarded(app)
    setup_errors(app)

    app.cleanup_ctx.append(store_ctx)
    app.cleanup_ctx.append(cluster_ctx)
    app.cleanup_ctx.append(telephony_ctx)
    app.cleanup_ctx.append(dispatch_ctx)
    app.cleanup_ctx.append(followups_ctx)
    app.cleanup_ctx.append(incidents_ctx)
    app.cleanup_ctx.append(sweeper_ctx)
    app.cleanup_ctx.append(retention_ctx)
    app.cleanup_ctx.append(early_warning_ctx)
    app.on_shutdown.append(_close_sockets)

    setup_health(app)
    setup_auth(app)
    setup_chat(app)
    setup_voice(app)
    setup_sms(app)
    setup_console(app)
    setup_dispatch(app)
    setup_early_warnings(app)
    setup_audit_page(app)
    setup_stats(app)
    app.router.add_get("/", _to_chat)
    app.router.add_static("/static", str(resources.files("hotline.web") / "static"))
    return app


async def _to_chat(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/chat")


async def store_ctx(app: web.Application) -> AsyncIterator[None]:
    """Open the data directory: key, database, services; make the stored state true again."""
    config = app[keys.CONFIG]
    config.data_dir.mkdir(parents=True, exist_ok=True)
    cipher = data_cipher(config)
    db = await open_database(config, app[keys.CLOCK], app[keys.BUS])
    try:
        await verify_data_key(db, cipher)
    except BaseException:
        await db.close()
        raise
    counsellors = Counsellors(db)
    # The text risk scanner reads every inbound message (rules as data in config/triage).
    conversations = Conversations(
        db, cipher, config, counsellors, scanner=TextRiskScanner.default()
    )
    app[keys.DATABASE] = db
    app[keys.CIPHER] = cipher
    app[keys.USERS] = Users(db, cipher)
    app[keys.SESSIONS] = Sessions(db, timedelta(hours=config.server.session_hours))
    app[keys.COUNSELLORS] = counsellors
    app[keys.CONVERSATIONS] = conversations
    watch = PresenceWatch(
        counsellors, conversations, app[keys.SOCKETS], config.console.offline_grace_seconds
    )
    app[keys.PRESENCE_WATCH] = watch
    if not config.redis.enabled:
        # One process: nobody is connected at start, so make the stored state say so. With
        # several, others' consoles and chats are live: the cluster's liveness sweep judges
        # absence across all of them instead (hotline.web.cluster).
        await conversations.recover_after_restart()
        await counsellors.mark_all_offline()
        await watch.watch_holders()
    log.info("store_opened", queue_length=await conversations.queue_length())
    yield
    await app[keys.PRESENCE_WATCH].close()
    await db.close()


async def telephony_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Twilio gateway (when credentials are set) and the voice and SMS channels."""
    config = app[keys.CONFIG]
    gateway = TwilioGateway(config.telephony) if config.telephony.enabled else None
    conversations = app[keys.CONVERSATIONS]
    spool = await Spool.open(config.data_dir, app[keys.CIPHER], app[keys.CLOCK])
    away = StoreAway(spool, app[keys.DATABASE].unreachable)
    app[keys.STORE_AWAY] = away
    app[keys.TWILIO] = gateway
    app[keys.VOICE] = VoiceChannel(
        config, conversations, app[keys.COUNSELLORS], app[keys.USERS], gateway, away
    )
    app[keys.SMS] = SmsChannel(config, conversations, gateway, away)
    replay = asyncio.create_task(away.replay_forever())
    log.info("telephony", enabled=config.telephony.enabled, spooled=spool.waiting)
    yield
    replay.cancel()
    await closed_within("spool_replay", lambda: _finished(replay))
    await closed_within("spool", spool.close)
    if gateway is not None:
        await closed_within("twilio", gateway.close)


async def _finished(task: asyncio.Task[None]) -> None:
    """Wait for a cancelled task to end."""
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def dispatch_ctx(app: web.Application) -> AsyncIterator[None]:
    """The dispatch desk, its page sender and its escalation timers."""
    config = app[keys.CONFIG]
    contacts = ContactRepository(app[keys.DATABASE], app[keys.CIPHER])
    desk = DispatchDesk(
        app[keys.DATABASE],
        app[keys.CIPHER],
        config,
        app[dispatch_keys.DISPATCH_CONFIG],
        app[keys.TWILIO],
        caller_number=contacts.caller_number,
    )
    await desk.start()
    app[dispatch_keys.DESK] = desk
    tasks = [
        asyncio.create_task(desk.pager.run()),
        asyncio.create_task(
            _fire_timers_forever(
                "escalation",
                desk.fire_due,
                desk.next_timer_due,
                desk.clock,
                ESCALATION_TICK_SECONDS,
                tick_gate(app),
            )
        ),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def followups_ctx(app: web.Application) -> AsyncIterator[None]:
    """Follow-up cases: hooked into wrap-ups and new contacts, their alarms and caring texts."""
    config = app[keys.CONFIG]
    desk = app[dispatch_keys.DESK]
    followups = FollowUps(
        app[keys.DATABASE],
        app[keys.CIPHER],
        config,
        app[dispatch_keys.FOLLOWUP_SETTINGS],
        app[dispatch_keys.DISPATCH_CONFIG].teams,
        sender=app[keys.TWILIO],
        open_dispatch=desk.request_in,
    )
    app[dispatch_keys.FOLLOWUPS] = followups
    conversations = app[keys.CONVERSATIONS]
    conversations.on_follow_up = followups.on_wrap_up
    conversations.on_contact_started = followups.on_contact_started
    users = app[keys.USERS]

    async def open_cases(person_hash: str) -> list[dict[str, object]]:
        """The console's "open case" of a returning person (by keyed hash, never by number)."""
        labels = Labels(followups, users)
        return [
            {
                "id": case.id,
                "pseudonym": case.pseudonym,
                "risk": case.risk.value,
                "next_due_at": to_iso(case.next_due_at) if case.next_due_at else None,
                "owner": (await labels.owner(case.owner))["label"],
            }
            for case in await followups.open_cases_for(person_hash)
        ]

    app[keys.CASE_LOOKUP] = open_cases
    # Overdue alarms and caring texts; each pass also sends texts a restart left queued.
    task = asyncio.create_task(
        _fire_timers_forever(
            "followups",
            followups.fire_due,
            followups.next_timer_due,
            followups.db.clock,
            FOLLOWUP_TICK_SECONDS,
            tick_gate(app),
        )
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    conversations.on_follow_up = None
    conversations.on_contact_started = None


async def incidents_ctx(app: web.Application) -> AsyncIterator[None]:
    """Live incidents: checklist deadlines, situation-report and rest reminders."""
    incidents = IncidentDesk(
        app[keys.DATABASE],
        app[keys.CIPHER],
        app[keys.CONFIG],
        app[dispatch_keys.PLANS],
        app[dispatch_keys.DESK],
        app[dispatch_keys.FOLLOWUPS],
    )
    app[dispatch_keys.INCIDENTS] = incidents
    # A reserve counsellor answers a call-in on the paging number, as a responder answers.
    app[dispatch_keys.DESK].other_replies = incidents.callin_reply
    task = asyncio.create_task(
        _fire_timers_forever(
            "incidents",
            incidents.fire_due,
            incidents.next_timer_due,
            incidents.db.clock,
            FOLLOWUP_TICK_SECONDS,
            tick_gate(app),
        )
    )
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _fire_timers_forever(
    what: str,
    fire_due: Callable[[], Awaitable[object]],
    next_due: Callable[[], Awaitable[datetime | None]],
    clock: Clock,
    tick: float,
    gate: TickGate,
) -> None:
    """Fire durable timers as they fall due: at the earliest pending one, and at least every
    `tick` seconds (a timer another process added is seen within a tick). With several
    processes, the one holding the tick fires (the store's claim keeps each timer single)."""
    while True:
        try:
            if await gate(what, tick):
                await fire_due()
            upcoming = await next_due()
        except Exception as exc:  # the loop must outlive one bad pass
            log.error("timers_failed", what=what, error_type=type(exc).__name__)
            upcoming = None
        delay = tick
        if upcoming is not None:
            delay = max(0.0, min(delay, (upcoming - clock.now()).total_seconds()))
        await asyncio.sleep(delay)


async def sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the sweeper and the wait-alarm loops for the life of the app."""
    tasks = [asyncio.create_task(_sweep_forever(app)), asyncio.create_task(_alarm_forever(app))]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _alarm_forever(app: web.Application) -> None:
    """Every second: is anyone waiting past their risk level's target? (Imminent: seconds.)"""
    gate = tick_gate(app)
    while True:
        await asyncio.sleep(ALARM_SECONDS)
        try:
            if not await gate("wait_alarms", ALARM_SECONDS):
                continue
            desk = app[dispatch_keys.DESK]
            raised = await app[keys.CONVERSATIONS].raise_wait_alarms(desk.page_supervisor_for_wait)
            if raised:
                desk.pager.wake()
        except Exception as exc:  # the loop must outlive one bad pass
            log.error("alarm_sweep_failed", error_type=type(exc).__name__)


async def _sweep_forever(app: web.Application) -> None:
    """Mark abandoned the people who left while waiting; drop expired sessions; checkpoint."""
    gate = tick_gate(app)
    while True:
        await asyncio.sleep(SWEEP_SECONDS)
        try:
            if not await gate("sweep", SWEEP_SECONDS):
                await app[keys.DATABASE].checkpoint()
                continue
            abandoned = await app[keys.CONVERSATIONS].abandon_departed()
            if abandoned:
                log.info("contacts_abandoned", count=len(abandoned))
            await app[keys.SESSIONS].purge_expired()
            if app[keys.TWILIO] is not None:
                await app[keys.SMS].deliver_pending()
            await app[keys.DATABASE].checkpoint()
        except Exception as exc:  # the loop must outlive one bad sweep
            log.error("sweep_failed", error_type=type(exc).__name__)


async def _close_sockets(app: web.Application) -> None:
    await app[keys.SOCKETS].close_all()
