"""A person at high risk waiting past their target pages the on-duty supervisor."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from dispatch.rosters import on_call
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.risk import RiskLevel
from hotline.web import keys


async def _dispatches(app: Any) -> list[dict[str, Any]]:
    board = await app[dispatch_keys.DESK].board_view()
    return [d for d in board["dispatches"] if d["kind"] == "wait_alarm"]


async def test_a_high_risk_wait_breach_pages_the_supervisor_once(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Through the app's own alarm loop: one dispatch to `supervisors`, however long the wait."""
    app = client.server.app
    assert app is not None
    conversations = app[keys.CONVERSATIONS]
    calm, _ = await conversations.start_webchat("jinghu", "zh-CN")
    urgent, _ = await conversations.start_webchat("wuwei", "zh-CN")
    await conversations.raise_risk(urgent.id, RiskLevel.HIGH, "screener")
    clock.advance(seconds=31)  # past high's 30 s target; "none" waits 300 s
    for _ in range(50):  # the alarm loop runs every second of real time
        if await _dispatches(app):
            break
        await asyncio.sleep(0.1)
    (dispatch,) = await _dispatches(app)
    desk = app[dispatch_keys.DESK]
    supervisors = desk.teams.get("supervisors")
    assert supervisors is not None
    assert dispatch["team_id"] == "supervisors" and dispatch["contact_id"] == urgent.id
    assert dispatch["risk"] == "high" and dispatch["district_id"] == "wuwei"
    assert dispatch["requested_by"] == "system"
    assert {p["member"]["id"] for p in dispatch["pages"]} == {
        on_call(supervisors.roster, clock.now()).primary
    }
    await asyncio.sleep(1.5)  # another pass of the loop: the same breach pages nobody again
    assert len(await _dispatches(app)) == 1
    assert all(d["contact_id"] != calm.id for d in await _dispatches(app))
