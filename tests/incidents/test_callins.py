"""Calling in reserve counsellors, end to end: texts through the Twilio simulator, answers by
SMS to the paging number with the same grammar responders use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dispatch.rosters import on_call
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.users import Role, User
from hotline.web import keys
from tests.simulated_twilio import SimulatedLine, simulated_line

PAGING_NUMBER = "+865533110002"


@pytest.fixture
async def line(
    aiohttp_client: Any, aiohttp_server: Any, config: Config, clock: ManualClock
) -> AsyncIterator[SimulatedLine]:
    async with simulated_line(aiohttp_server, aiohttp_client, config, clock) as served:
        served.sim.add_number(PAGING_NUMBER, sms_url=f"{served.public_url}/twilio/paging/sms")
        yield served


async def _coordinator(line: SimulatedLine) -> User:
    async with line.app[keys.DATABASE].transaction() as tx:
        user_id = await tx.fetchval(
            "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
            " VALUES ('zhao', ?, 'coordinator', 'x', '2026-11-23T00:00:00+00:00') RETURNING id",
            (b"\0",),
        )
    return User(int(user_id), "zhao", "zhao", Role.COORDINATOR)


async def test_a_flood_calls_in_four_reserve_counsellors_who_answer_by_text(
    line: SimulatedLine,
) -> None:
    """Four texts, starting with the reserve roster's primary; "1" is coming, "2" is not."""
    app = line.app
    reserve = app[dispatch_keys.DISPATCH_CONFIG].teams.get("reserve")
    assert reserve is not None
    desk = app[dispatch_keys.DESK]
    phones = {m.id: await desk.store.phone("reserve", m.id) for m in reserve.members}
    incidents = app[dispatch_keys.INCIDENTS]
    incident = await incidents.declare(await _coordinator(line), "flood", ["jinghu"])
    primary = on_call(reserve.roster, desk.clock.now()).primary
    assert primary is not None
    texts = await line.sim.wait_for_messages(4, from_=PAGING_NUMBER, to=None)
    called = [m for m in texts if m["to"] in phones.values()]
    assert len(called) == 4 and called[0]["to"] == phones[primary]
    assert "应急召集：自然灾害：洪涝（镜湖区）" in called[0]["body"]
    rows = await app[keys.DATABASE].fetchall(
        "SELECT member_id, code FROM incident_callins WHERE incident_id = ? ORDER BY id",
        (incident.id,),
    )
    codes = {r["member_id"]: r["code"] for r in rows}
    assert f"“{codes[primary]} 1”确认到岗" in called[0]["body"]

    [coming] = await line.sim.send_sms(phones[primary], f"{codes[primary]} 1", to=PAGING_NUMBER)
    assert "您将到岗支援" in coming
    second = rows[1]["member_id"]
    [cannot] = await line.sim.send_sms(
        phones[second], f"{codes[second]} 2 家里也进水了", to=PAGING_NUMBER
    )
    assert "无法到岗" in cannot
    # A code sent from a number it was not sent to changes nothing.
    [stranger] = await line.sim.send_sms(
        "+8613000000999", f"{codes[rows[2]['member_id']]} 1", to=PAGING_NUMBER
    )
    assert "未找到" in stranger
    report = await incidents.report(await incidents.get(incident.id))
    assert (report["reserve_called"], report["reserve_coming"], report["reserve_cannot"]) == (
        4,
        1,
        1,
    )
    answers = await app[keys.DATABASE].fetchall(
        "SELECT data FROM events WHERE kind = 'incident.reserve_answered' ORDER BY id"
    )
    assert len(answers) == 2 and "家里" not in str([tuple(a) for a in answers])
    await line.sim.settle()
    delivered = await app[keys.DATABASE].fetchval(
        "SELECT COUNT(*) FROM incident_callins WHERE status = 'delivered'"
    )
    assert delivered == 4
