"""PostgreSQL goes away while people call and text: nothing they send is lost.

The application runs on a real PostgreSQL database reached through a relay the test cuts
(tests/store/outage.py): connections reset, new ones refused, as when the server crashes or
the network between the machines fails. Twilio's webhooks keep arriving, signed as Twilio
signs them. While the store is away each step is kept in the gateway's spool and the person
is answered (held, acknowledged, sent to the backup line); when the relay is restored the
kept steps enter the store, in order, with the instants they happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from hotline.clock import ManualClock
from hotline.config import Config, DatabaseConfig
from hotline.contacts import Channel, ContactState
from hotline.spool import SPOOL_FILE
from hotline.stats.facts import load_facts
from hotline.twilio_sim import TwilioSimulator
from hotline.web import keys
from hotline.web.app import create_app
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_URL, Twilio
from tests.simulated_twilio import free_port
from tests.store.harness import PostgresStores
from tests.store.outage import StoreOutage, app_of, eventually

NUMBER = "+8613912345678"
TEXT = "我撑不下去了 please help"
# Twilio's REST API where nothing listens: a kept call's status is then unknown (not over).
CLOSED_PORT = "http://127.0.0.1:9"
Client = TestClient[Any, Any]
MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def outage(postgres_stores_or_skip: PostgresStores) -> AsyncIterator[StoreOutage]:
    relay = StoreOutage(postgres_stores_or_skip.server.url)
    await relay.start()
    yield relay
    await relay.close()


@pytest.fixture
async def away_config(
    config: Config, postgres_stores_or_skip: PostgresStores, outage: StoreOutage
) -> Config:
    """Telephony on; the store is the test's PostgreSQL database, reached through the relay."""
    url = postgres_stores_or_skip.config_for(config).database.url
    await postgres_stores_or_skip.make(url)  # made from the template before the relay is used
    through_relay = outage.url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1]
    telephony = replace(
        config.telephony, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL
    )
    telephony = replace(telephony, api_base_url=CLOSED_PORT)
    return replace(
        config,
        telephony=telephony,
        database=DatabaseConfig(engine="postgresql", url=through_relay),
    )


async def start(aiohttp_client: MakeClient, config: Config, clock: ManualClock) -> Client:
    return await aiohttp_client(create_app(config, clock=clock))


def spool_file_bytes(data_dir: Path) -> bytes:
    """The spool file and its WAL, as bytes on disk."""
    return b"".join(path.read_bytes() for path in data_dir.glob(SPOOL_FILE + "*"))


async def call_reaches(client: Client, sid: str, state: ContactState) -> None:
    """Wait until the call's contact is in the store in `state` (once the spool replayed)."""
    conversations = app_of(client)[keys.CONVERSATIONS]

    async def reached() -> bool:
        try:
            contact = await conversations.by_call_sid(sid)
        except Exception:  # the pool reconnecting
            return False
        return contact is not None and contact.state is state

    await eventually(reached)


async def call_reaches_queue(twilio: Twilio, sid: str, *, danger: bool) -> str:
    """The IVR's last step (the district key) for a call: the caller is put on hold."""
    response = await twilio.post(
        f"/twilio/voice/district?danger={int(danger)}",
        {"CallSid": sid, "From": NUMBER, "Digits": "1"},
    )
    assert response.status == 200
    return str(await response.text())


async def test_a_call_and_a_text_while_the_store_is_away_enter_the_queue_when_it_returns(
    aiohttp_client: MakeClient, away_config: Config, clock: ManualClock, outage: StoreOutage
) -> None:
    client = await start(aiohttp_client, away_config, clock)
    twilio = Twilio(client)
    await outage.cut()
    arrived = clock.now()
    with capture_logs() as logs:
        held = await call_reaches_queue(twilio, "CA-away-1", danger=True)
        assert "<Enqueue" in held  # held in Twilio's queue, as any day
        texted = await twilio.post(
            "/twilio/sms", {"MessageSid": "SM1", "From": NUMBER, "Body": TEXT}
        )
        assert texted.status == 200
        assert away_config.telephony.texts["sms_received"] in await texted.text()
        waiting = await twilio.post(
            "/twilio/voice/wait", {"CallSid": "CA-away-1", "QueueTime": "30"}
        )
        assert waiting.status == 200
        assert "<Pause" in await waiting.text()  # kept company, not cut off
        health = await client.get("/healthz")
        assert health.status == 503
        assert (await health.json())["spooled"] == 2

    # Kept on disk, sealed: neither the number nor the words are in the spool file in clear.
    spool_bytes = await asyncio.to_thread(spool_file_bytes, away_config.data_dir)
    assert spool_bytes
    for secret in (NUMBER, TEXT, "撑不下去"):
        assert secret.encode() not in spool_bytes
    assert all(NUMBER not in repr(entry) and "撑不下去" not in repr(entry) for entry in logs)

    clock.advance(seconds=90)
    await outage.restore()
    conversations = app_of(client)[keys.CONVERSATIONS]

    async def both_queued() -> bool:
        try:
            return await conversations.by_call_sid("CA-away-1") is not None and (
                await conversations.queue_length() == 2
            )
        except Exception:  # the pool reconnecting
            return False

    await eventually(both_queued)
    call = await conversations.by_call_sid("CA-away-1")
    assert call is not None and call.state is ContactState.QUEUED
    assert call.risk.value == "imminent"
    assert call.waiting_since == arrived  # the place they had, not the replay's instant
    queue = await conversations.queue()
    sms = next(c for c in queue if c.channel is Channel.SMS)
    assert sms.waiting_since == arrived
    [message] = await conversations.messages(sms.id)
    assert message.text == TEXT
    # Statistics measure their waits from the arrival too (the event says when it was).
    db = app_of(client)[keys.DATABASE]
    later = clock.now() + timedelta(minutes=1)
    facts = await load_facts(db, arrived - timedelta(hours=1), later, later)
    assert {fact.arrived_at for fact in facts.contacts} == {arrived}
    assert app_of(client)[keys.STORE_AWAY].spool.waiting == 0
    assert (await (await client.get("/healthz")).json())["spooled"] == 0


async def test_a_caller_who_hung_up_while_the_store_was_away_is_not_left_waiting(
    aiohttp_client: MakeClient, away_config: Config, clock: ManualClock, outage: StoreOutage
) -> None:
    client = await start(aiohttp_client, away_config, clock)
    twilio = Twilio(client)
    await outage.cut()
    await call_reaches_queue(twilio, "CA-away-2", danger=False)
    left = await twilio.post(
        "/twilio/voice/dequeued",
        {"CallSid": "CA-away-2", "QueueResult": "hangup", "QueueTime": "40"},
    )
    assert "<Hangup" in await left.text()
    await outage.restore()
    await call_reaches(client, "CA-away-2", ContactState.ABANDONED)
    assert await app_of(client)[keys.CONVERSATIONS].queue_length() == 0


async def test_a_caller_held_too_long_without_the_store_reaches_the_backup_line(
    aiohttp_client: MakeClient, away_config: Config, clock: ManualClock, outage: StoreOutage
) -> None:
    client = await start(aiohttp_client, away_config, clock)
    twilio = Twilio(client)
    await outage.cut()
    await call_reaches_queue(twilio, "CA-away-3", danger=False)
    too_long = str(away_config.telephony.overflow_after_seconds)
    waiting = await twilio.post(
        "/twilio/voice/wait", {"CallSid": "CA-away-3", "QueueTime": too_long}
    )
    assert "<Leave" in await waiting.text()
    left = await twilio.post(
        "/twilio/voice/dequeued", {"CallSid": "CA-away-3", "QueueResult": "leave"}
    )
    dial = await left.text()
    assert "<Dial" in dial and away_config.telephony.backup_number in dial
    await outage.restore()
    await call_reaches(client, "CA-away-3", ContactState.TRANSFERRED)


async def test_what_was_kept_survives_a_restart_of_the_gateway(
    aiohttp_client: MakeClient, away_config: Config, clock: ManualClock, outage: StoreOutage
) -> None:
    first = await start(aiohttp_client, away_config, clock)
    await outage.cut()
    await call_reaches_queue(Twilio(first), "CA-away-4", danger=True)
    await first.close()  # the gateway stops while the store is still away
    await outage.restore()
    second = await start(aiohttp_client, away_config, clock)
    conversations = app_of(second)[keys.CONVERSATIONS]

    async def queued() -> bool:
        return await conversations.by_call_sid("CA-away-4") is not None

    await eventually(queued)
    assert await conversations.queue_length() == 1


async def test_a_kept_call_whose_caller_hung_up_while_the_gateway_was_down_does_not_wait(
    aiohttp_server: Any,
    aiohttp_client: MakeClient,
    away_config: Config,
    clock: ManualClock,
    outage: StoreOutage,
) -> None:
    """The hang-up never reached the store: the gateway that kept the arrival was down when
    Twilio sent it. At the replay Twilio (the simulator's REST API) says the call is over, so
    the contact is ended, not offered to a counsellor for a line that is gone."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, webhook_base=public_url
    ) as sim:
        telephony = replace(
            away_config.telephony, public_url=public_url, api_base_url=str(sim.api_base_url)
        )
        config = replace(away_config, telephony=telephony)
        first = await aiohttp_server(create_app(config, clock=clock), port=port)
        await outage.cut()
        call = await sim.place_call(NUMBER, digits=["", "1"])  # no danger key; district 1
        assert call.state == "queued"  # held, its arrival kept in the spool
        await first.close()  # the gateway stops while the store is away
        await call.hangup()  # the caller gives up; Twilio's webhooks find no gateway
        assert call.state == "completed"
        await outage.restore()
        second = await aiohttp_server(create_app(config, clock=clock), port=port)
        client = await aiohttp_client(second)
        await call_reaches(client, call.sid, ContactState.ABANDONED)
        assert await app_of(client)[keys.CONVERSATIONS].queue_length() == 0
