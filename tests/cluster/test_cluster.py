"""Gateways joined through Redis: a console on one sees what arrives at another, a vanished
counsellor's conversation returns to the queue, and Redis going away loses nothing."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aiohttp.test_utils import TestClient
from redis import asyncio as aioredis

from hotline.clock import ManualClock
from hotline.contacts import ContactState
from hotline.web import keys
from tests.cluster.conftest import REDIS_URL, Gateways, ThrowawayRedis, app_of, free_port, settle
from tests.conftest import login_factory


def origin_of(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("")).rstrip("/")


async def frames_until(ws: Any, test: Any, seconds: float = 8.0) -> dict[str, Any]:
    """Read console frames until one passes `test`."""
    async with asyncio.timeout(seconds):
        while True:
            frame = await ws.receive_json()
            if test(frame):
                return frame


async def test_a_console_on_one_gateway_sees_contacts_arriving_at_the_other(
    gateways: Gateways, aiohttp_client: Any
) -> None:
    """A web chat started through gateway B appears in the queue of a console on gateway A
    (relayed through Redis); A's counsellor takes it through A."""
    a, b = await gateways(2)
    wang = await login_factory(aiohttp_client, a)("wang")
    async with wang.client.ws_connect("/console/ws", headers={"Origin": origin_of(a)}) as ws:
        await frames_until(ws, lambda f: f["type"] == "queue")
        started = await b.post("/chat/api/conversations", json={"district": "jinghu"})
        assert started.status == 201
        contact_id = (await started.json())["contact_id"]
        frame = await frames_until(
            ws, lambda f: f["type"] == "queue" and any(q["id"] == contact_id for q in f["queue"])
        )
        assert frame["queue"][0]["district"] == "jinghu"
        await settle(a, b)
        taken = await wang.post("/console/api/take-next")
        assert (await taken.json())["contact"]["id"] == contact_id
    relay = app_of(a)[keys.RELAY]
    assert relay is not None and relay.received > 0


async def test_a_counsellor_gone_from_every_gateway_hands_the_person_back(
    gateways: Gateways, aiohttp_client: Any, clock: ManualClock
) -> None:
    """Wang's console on A closes and never returns (to A or B): after the liveness lapses
    and the grace, the cluster sweep puts the person back at the head of the queue."""
    a, b = await gateways(2, grace=1, liveness_seconds=1)
    wang = await login_factory(aiohttp_client, a)("wang")
    talking, _ = await app_of(b)[keys.CONVERSATIONS].start_webchat(None, "zh-CN")
    async with wang.client.ws_connect("/console/ws", headers={"Origin": origin_of(a)}) as ws:
        await frames_until(ws, lambda f: f["type"] == "queue")
        await settle(a, b)
        taken = await wang.post("/console/api/take-next")
        assert (await taken.json())["contact"]["id"] == talking.id
        await asyncio.sleep(1.5)  # connected well past a liveness lifetime: still held
        assert (await app_of(b)[keys.CONVERSATIONS].get(talking.id)).counsellor_id is not None
    conversations = app_of(b)[keys.CONVERSATIONS]

    async def requeued() -> bool:
        return (await conversations.get(talking.id)).state is ContactState.QUEUED

    await wait_for(requeued)
    contact = await conversations.get(talking.id)
    assert contact.counsellor_id is None and contact.requeued


async def test_redis_away_at_start_the_gateway_still_takes_and_keeps_contacts(
    gateways: Gateways, aiohttp_client: Any
) -> None:
    """Redis does not answer: /healthz says degraded (200), a web chat is still accepted and
    kept, and a counsellor still takes it, through the store."""
    [a] = await gateways(1, url=f"redis://127.0.0.1:{free_port()}/0")
    health = await a.get("/healthz")
    body = await health.json()
    assert health.status == 200 and body["status"] == "degraded" and body["redis"] == "unavailable"
    started = await a.post("/chat/api/conversations", json={"district": None})
    assert started.status == 201
    wang = await login_factory(aiohttp_client, a)("wang")
    taken = await wang.post("/console/api/take-next")
    assert (await taken.json())["contact"]["id"] == (await started.json())["contact_id"]


async def test_the_index_is_rebuilt_from_the_store_when_its_keys_are_lost(
    gateways: Gateways, redis_prefix: str
) -> None:
    """Keys lost (a Redis restarted without its files): takes still follow the store, and
    the reconcile puts every waiting contact back in the index."""
    a, b = await gateways(2)
    for _ in range(6):
        await app_of(a)[keys.CONVERSATIONS].start_webchat(None, "zh-CN")
    await settle(a, b)
    index = app_of(b)[keys.QUEUE_INDEX]
    assert index is not None and await index.length() == 6
    raw = aioredis.Redis.from_url(REDIS_URL)
    try:
        await raw.delete(*[k async for k in raw.scan_iter(match=redis_prefix + "queue:*")])
    finally:
        await raw.aclose()
    assert await index.length() == 0
    await index.reconcile()
    assert await index.length() == 6


async def wait_for(test: Any, seconds: float = 15.0) -> None:
    """Poll `test` until it holds (a condition on another gateway has no event here)."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if await test():
                return
            await asyncio.sleep(0.1)


async def test_redis_restarted_during_traffic_loses_nothing(
    gateways: Gateways, aiohttp_client: Any, throwaway_redis: ThrowawayRedis
) -> None:
    """Contacts keep arriving through both gateways while Redis is down (kept in the store,
    /healthz degraded); when Redis returns empty, the index is rebuilt, the relay resumes
    and a console on A sees B's contacts again; every contact is taken once."""
    a, b = await gateways(2, url=throwaway_redis.url)
    wang = await login_factory(aiohttp_client, a)("wang")
    sent: list[int] = []

    async def chat(via: TestClient[Any, Any]) -> None:
        started = await via.post("/chat/api/conversations", json={"district": None})
        assert started.status == 201
        sent.append((await started.json())["contact_id"])

    for i in range(4):
        await chat(a if i % 2 else b)
    await settle(a, b)
    throwaway_redis.stop()
    for i in range(4):
        await chat(a if i % 2 else b)

    async def degraded() -> bool:
        return (await (await a.get("/healthz")).json())["status"] == "degraded"

    await wait_for(degraded)
    throwaway_redis.start()

    async def healthy() -> bool:
        return (await (await b.get("/healthz")).json())["status"] == "ok"

    await wait_for(healthy)
    index = app_of(a)[keys.QUEUE_INDEX]
    assert index is not None
    await index.reconcile()
    assert await index.length() == len(sent)

    await relay_carries(wang, a, lambda: chat(b), sent)
    await settle(a, b)
    await take_each_once(wang, sent)


async def relay_carries(
    wang: Any, a: TestClient[Any, Any], chat_at_b: Any, sent: list[int]
) -> None:
    """A console on gateway A sees a chat started at B (the relay carries events again)."""
    async with wang.client.ws_connect("/console/ws", headers={"Origin": origin_of(a)}) as ws:
        await frames_until(ws, lambda f: f["type"] == "queue")

        async def relayed() -> bool:
            await chat_at_b()
            frame = await ws.receive_json(timeout=2)
            return frame["type"] == "queue" and any(q["id"] == sent[-1] for q in frame["queue"])

        await wait_for(relayed)


async def take_each_once(wang: Any, sent: list[int]) -> None:
    """Take and end everything waiting: exactly the contacts started, each once."""
    taken = []
    for _ in range(len(sent)):
        response = await wang.post("/console/api/take-next")
        contact = (await response.json())["contact"]
        taken.append(contact["id"])
        await wang.post(f"/console/api/contacts/{contact['id']}/end")
    assert sorted(taken) == sorted(sent)
