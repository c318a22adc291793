"""The same queue and timer suite for the embedded backend (two gateways on one SQLite file,
no Redis) and the Redis backend (two gateways sharing Redis): order, channels, the race of
many take-next calls across gateways, and timers claimed exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.contacts import Channel
from hotline.conversations import Conversations
from hotline.counsellors import Presence
from hotline.risk import RiskLevel
from hotline.store import timers
from hotline.users import Role
from hotline.web import keys
from hotline.web.cluster import tick_gate
from tests.cluster.conftest import Gateways, app_of, settle

PASSWORD = "long enough password"


@pytest.fixture(params=["embedded", "redis"])
async def pair(request: pytest.FixtureRequest, gateways: Gateways) -> AsyncIterator[Any]:
    """Two gateways on one data dir: without Redis (the embedded default) or sharing it."""
    if request.param == "embedded":
        started = await gateways(2, url="")
    else:
        started = await gateways(2)
    yield started


def conv(client: TestClient[Any, Any]) -> Conversations:
    return app_of(client)[keys.CONVERSATIONS]


async def settle_if_shared(*clients: TestClient[Any, Any]) -> None:
    if app_of(clients[0])[keys.QUEUE_INDEX] is not None:
        await settle(*clients)


async def counsellor(client: TestClient[Any, Any], name: str) -> int:
    app = app_of(client)
    user = await app[keys.USERS].add(name, name, Role.COUNSELLOR, PASSWORD)
    await app[keys.COUNSELLORS].set_presence(user.id, Presence.AVAILABLE)
    return user.id


async def test_the_most_urgent_is_taken_first_whichever_gateway_it_came_through(
    pair: list[TestClient[Any, Any]], clock: ManualClock
) -> None:
    """Risk first, then time waited, across gateways; a dropped contact goes to the head of
    its level."""
    a, b = pair
    early, _ = await conv(a).start_webchat(None, "zh-CN")
    clock.advance(seconds=5)
    later, _ = await conv(b).start_webchat(None, "zh-CN")
    clock.advance(seconds=5)
    urgent, _ = await conv(a).start_webchat(None, "zh-CN")
    await conv(a).raise_risk(urgent.id, RiskLevel.HIGH, "screener", ["test"])
    await settle_if_shared(a, b)
    me = await counsellor(b, "wang")
    taken = [(await conv(b).take_next(me)) for _ in range(2)]
    assert [c.id for c in taken if c] == [urgent.id, early.id]
    await conv(b).requeue(early.id, "system", "test")
    await settle_if_shared(a, b)
    other = await counsellor(a, "li")
    again = await conv(a).take_next(other)
    assert again is not None and again.id == early.id  # dropped: head of its level
    last = await conv(a).take_next(other)
    assert last is not None and last.id == later.id
    assert await conv(a).take_next(other) is None


async def test_a_counsellor_gets_only_the_channels_they_answer(
    pair: list[TestClient[Any, Any]], clock: ManualClock
) -> None:
    """Text-only counsellors never get a call, even a more urgent one."""
    a, b = pair
    call = await conv(a).start_call("CA" + "1" * 32, "+8613900000001", RiskLevel.HIGH, None)
    clock.advance(seconds=1)
    chat, _ = await conv(b).start_webchat(None, "zh-CN")
    await settle_if_shared(a, b)
    me = await counsellor(a, "wang")
    got = await conv(a).take_next(me, frozenset({Channel.WEBCHAT, Channel.SMS}))
    assert got is not None and got.id == chat.id
    assert await conv(a).take_next(me, frozenset({Channel.WEBCHAT})) is None
    assert (await conv(b).get(call.id)).state.value == "queued"


async def test_many_take_next_across_gateways_give_each_contact_once(
    pair: list[TestClient[Any, Any]],
) -> None:
    """24 counsellors on two gateways race for 120 contacts: none twice, none lost."""
    a, b = pair
    waiting = 120
    for i in range(waiting):
        await conv(a if i % 2 else b).start_webchat(None, "zh-CN")
    await settle_if_shared(a, b)
    takers = [(await counsellor(a if i % 2 else b, f"c{i}"), i % 2) for i in range(24)]

    async def take_all(me: int, side: int) -> list[int]:
        gateway = a if side else b
        got = []
        while (contact := await conv(gateway).take_next(me)) is not None:
            got.append(contact.id)
        return got

    results = await asyncio.gather(*(take_all(me, side) for me, side in takers))
    given = [cid for got in results for cid in got]
    assert len(given) == len(set(given)), "a contact was given to two counsellors"
    assert len(given) == waiting, "a contact was lost"
    index = app_of(a)[keys.QUEUE_INDEX]
    if index is not None:
        index_b = app_of(b)[keys.QUEUE_INDEX]
        assert index_b is not None
        assert index.taken + index_b.taken >= waiting  # picked through the shared index


async def test_due_timers_are_claimed_once_across_gateways(
    pair: list[TestClient[Any, Any]], clock: ManualClock
) -> None:
    """200 timers due at once, both gateways claiming in passes: each fires exactly once."""
    a, b = pair
    db = app_of(a)[keys.DATABASE]
    due = clock.now() - timedelta(seconds=1)
    async with db.transaction() as tx:
        for n in range(200):
            await timers.schedule(tx, "test.suite", f"thing:{n}", due)

    async def claim_passes(client: TestClient[Any, Any]) -> list[int]:
        gate = tick_gate(app_of(client))
        gateway_db = app_of(client)[keys.DATABASE]
        claimed: list[int] = []
        for _ in range(40):
            if await gate("test.suite", 0.01):
                async with gateway_db.transaction() as tx:
                    claimed += [t.id for t in await timers.claim_due(tx, "test.suite",
                                                                     clock.now(), 10)]
            await asyncio.sleep(0.005)
        return claimed

    first, second = await asyncio.gather(claim_passes(a), claim_passes(b))
    assert not set(first) & set(second), "a timer fired twice"
    assert len(first) + len(second) == 200, "a timer never fired"
