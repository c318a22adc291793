"""Starting a web chat while the store does not answer: refused plainly, never half-made.

The PostgreSQL tests run the application on a real PostgreSQL database reached through a
relay the test cuts (tests/store/outage.py): connections reset, new ones refused, as when
the server crashes or the network to it fails. A start then answers 503 `store_unavailable`
with `Retry-After` (the page waits and sends the same start again), quickly, and nothing is
kept; once the relay is restored the same start is kept, once.

A start that was kept but whose next step (the screener's risk rise) found the store gone
answers 201 all the same, so the person is never asked to try again and queue twice; the
missed step is caught up when the store answers. The last tests prove the same answers on
either engine with the failure stood in for (`unreachable = (OSError,)`), as the SQLite pass
has no server to cut.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from hotline.channels import webchat
from hotline.clock import ManualClock
from hotline.config import Config, DatabaseConfig
from hotline.contacts import Contact
from hotline.conversations import Conversations
from hotline.risk import RiskLevel
from hotline.web import keys
from hotline.web.app import create_app
from tests.store.harness import PostgresStores
from tests.store.outage import StoreOutage, app_of, eventually

Client = TestClient[Any, Any]
MakeClient = Callable[[web.Application], Awaitable[Client]]
# What the person entered: a district, screener answers that raise the risk to high, and the
# browser's identity (which must never reach a log).
IDENTITY = "Zq3-identity-of-this-browser_0123456789abcd"
START = {
    "district": "jinghu",
    "lang": "zh-CN",
    "screener": {"suicidal_thoughts": True, "acted": "within_3_months"},
    "identity": IDENTITY,
}


@pytest.fixture
async def outage(
    postgres_stores_or_skip: PostgresStores, config: Config
) -> AsyncIterator[StoreOutage]:
    """A relay in front of this test's own PostgreSQL database."""
    url = postgres_stores_or_skip.config_for(config).database.url
    await postgres_stores_or_skip.make(url)  # made from the template before the relay is used
    relay = StoreOutage(url)
    await relay.start()
    yield relay
    await relay.close()


@pytest.fixture
def away_config(
    config: Config, postgres_stores_or_skip: PostgresStores, outage: StoreOutage
) -> Config:
    """The config on PostgreSQL, its store reached through the relay."""
    on_postgres = postgres_stores_or_skip.config_for(config)
    return replace(on_postgres, database=DatabaseConfig(engine="postgresql", url=outage.url))


async def queued(client: Client) -> list[Contact]:
    return list(await app_of(client)[keys.CONVERSATIONS].queue())


def no_personal_data(logs: list[dict[str, Any]]) -> None:
    text = repr(logs)
    assert IDENTITY not in text and "within_3_months" not in text and "jinghu" not in text


async def test_a_start_while_postgres_is_away_is_refused_with_retry_after_then_kept_once(
    aiohttp_client: MakeClient, away_config: Config, clock: ManualClock, outage: StoreOutage
) -> None:
    """Cut: 503 store_unavailable + Retry-After within seconds, /healthz 503 with the database
    "error", the page and its options still served, nothing queued. Restored: the same
    start answers 201 and exactly one contact waits, with the district and the screener's
    risk the person gave."""
    client = await aiohttp_client(create_app(away_config, clock=clock))
    assert (await client.get("/healthz")).status == 200
    await outage.cut()

    with capture_logs() as logs:
        began = time.monotonic()
        async with asyncio.timeout(15):  # never hangs: the pool connects with a 5 s timeout
            refused = await client.post("/chat/api/conversations", json=START)
        assert time.monotonic() - began < 7
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "5"
        error = await refused.json()
        assert error["error"] == "store_unavailable" and "try again" in error["message"]

        health = await client.get("/healthz")
        assert health.status == 503
        assert (await health.json())["database"] == "error"
        assert (await client.get("/chat")).status == 200
        options = await client.get("/chat/api/options")
        assert options.status == 200 and (await options.json())["districts"]
        surge = await client.get("/chat/api/surge")
        assert surge.status == 503 and (await surge.json())["error"] == "store_unavailable"
    events = [entry["event"] for entry in logs]
    assert "chat_start_store_unavailable" in events
    assert "unhandled_error" not in events
    no_personal_data(logs)

    await outage.restore()
    # As the page does: the same start again until it is kept (the pool may need a moment to
    # replace its cut connections; each 503 on the way kept nothing).
    async with asyncio.timeout(20):
        for _ in itertools.count():
            started = await client.post("/chat/api/conversations", json=START)
            if started.status != 503:
                break
            await asyncio.sleep(0.2)
    assert started.status == 201, await started.text()
    body = await started.json()
    [contact] = await queued(client)
    assert contact.id == body["contact_id"] and body["token"]
    assert (contact.district, contact.risk) == ("jinghu", RiskLevel.HIGH)
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["queue_length"] == 1


async def test_a_start_kept_just_before_postgres_went_away_answers_201_and_catches_up(
    aiohttp_client: MakeClient,
    away_config: Config,
    clock: ManualClock,
    outage: StoreOutage,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contact is kept, then the store goes away before the screener's rise: 201 with the
    contact (not a 503 that would make the page queue the person twice), a warning naming
    the contact, and the rise applied once the store is back."""
    monkeypatch.setattr(webchat, "CATCH_UP_EVERY_S", 0.2)
    client = await aiohttp_client(create_app(away_config, clock=clock))
    raise_risk = Conversations.raise_risk

    async def cut_first(self: Conversations, *args: Any, **kwargs: Any) -> Contact:
        await outage.cut()  # the outage begins between the start and the rise
        return await raise_risk(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "raise_risk", cut_first)
    with capture_logs() as logs:
        async with asyncio.timeout(15):
            started = await client.post("/chat/api/conversations", json=START)
        assert started.status == 201, await started.text()
        body = await started.json()
        assert body["token"]
        [partial] = [entry for entry in logs if entry["event"] == "chat_start_partial"]
        assert partial["contact_id"] == body["contact_id"] and partial["missed"] == ["risk"]
        assert partial["log_level"] == "warning"
        monkeypatch.setattr(Conversations, "raise_risk", raise_risk)

        await asyncio.sleep(0.5)  # the catch-up tries while the store is still away
        await outage.restore()

        async def risen() -> bool:
            contacts = await queued(client)
            return bool(contacts) and contacts[0].risk is RiskLevel.HIGH

        await eventually(risen)
        assert any(entry["event"] == "chat_start_caught_up" for entry in logs)
    no_personal_data(logs)
    [contact] = await queued(client)
    assert (contact.id, contact.district) == (body["contact_id"], "jinghu")


# -- either engine: the failure stood in for ----------------------------------------------


def unreachable_on(app: web.Application) -> None:
    """The app's store treats OSError as "does not answer" (SQLite's own tuple is empty)."""
    app[keys.DATABASE].unreachable = (OSError,)


async def test_a_refused_start_keeps_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """start_webchat failing as unreachable: 503 with Retry-After, nothing queued."""
    unreachable_on(app_of(client))

    async def away(self: Conversations, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("stand-in: the store does not answer")

    monkeypatch.setattr(Conversations, "start_webchat", away)
    refused = await client.post("/chat/api/conversations", json=START)
    assert refused.status == 503 and refused.headers["Retry-After"] == "5"
    assert (await refused.json())["error"] == "store_unavailable"
    assert await queued(client) == []


async def test_a_start_whose_risk_step_fails_is_kept_once_and_caught_up(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rise fails as unreachable twice: 201, one contact, the rise caught up later."""
    monkeypatch.setattr(webchat, "CATCH_UP_EVERY_S", 0.05)
    unreachable_on(app_of(client))
    raise_risk = Conversations.raise_risk
    failures = iter([OSError("stand-in"), OSError("stand-in")])

    async def flaky(self: Conversations, *args: Any, **kwargs: Any) -> Contact:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await raise_risk(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "raise_risk", flaky)
    with capture_logs() as logs:
        started = await client.post("/chat/api/conversations", json=START)
        assert started.status == 201
        body = await started.json()

        async def risen() -> bool:
            [contact] = await queued(client)
            return contact.risk is RiskLevel.HIGH

        await eventually(risen, seconds=5)
    assert [e["contact_id"] for e in logs if e["event"] == "chat_start_partial"] == [
        body["contact_id"]
    ]
    assert any(e["event"] == "chat_start_caught_up" for e in logs)
    no_personal_data(logs)


async def test_a_catch_up_still_missing_at_shutdown_is_logged_by_contact(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store never returns before the gateway stops: the catch-up is cancelled cleanly and
    a warning names the contact whose rise was never applied."""
    monkeypatch.setattr(webchat, "CATCH_UP_EVERY_S", 0.05)
    unreachable_on(app_of(client))

    async def away(self: Conversations, *args: Any, **kwargs: Any) -> Contact:
        raise ConnectionResetError("stand-in: the store does not answer")

    monkeypatch.setattr(Conversations, "raise_risk", away)
    with capture_logs() as logs:
        started = await client.post("/chat/api/conversations", json=START)
        assert started.status == 201
        contact_id = (await started.json())["contact_id"]
        await asyncio.sleep(0.2)  # a few catch-up tries, all refused
        await client.close()
    [stopped] = [e for e in logs if e["event"] == "chat_start_catch_up_stopped"]
    assert (stopped["contact_id"], stopped["missed"]) == (contact_id, ["risk"])
    no_personal_data(logs)
