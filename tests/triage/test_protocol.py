"""The imminent-risk protocol: supervisors alerted automatically, every step an event."""

from __future__ import annotations

import asyncio
from typing import Any

from hotline.users import Role
from hotline.web import keys


async def test_protocol_steps_are_recorded_with_their_time(client: Any, login: Any) -> None:
    """Taking someone in danger alerts supervisors; each step is kept; 'no 110' needs a why."""
    wang = await login("wang")
    chen = await login("chen", Role.SUPERVISOR)
    origin = {"Origin": str(client.make_url("")).rstrip("/")}
    async with chen.client.ws_connect("/console/ws", headers=origin) as supervisor:
        started = await (
            await client.post("/chat/api/conversations", json={"screener": {"safe_now": False}})
        ).json()
        contact_id = started["contact_id"]
        assert (await wang.post("/console/api/take-next")).status == 200
        async with asyncio.timeout(5):
            while (frame := await supervisor.receive_json())["type"] != "imminent":
                pass
    assert frame["contact"]["id"] == contact_id

    path = f"/console/api/contacts/{contact_id}/protocol"
    assert (await wang.post(path, {"step": "location_asked", "note": "在江边公园"})).status == 201
    missing_why = await wang.post(path, {"step": "emergency_services", "service": "none"})
    assert missing_why.status == 400 and (await missing_why.json())["error"] == "reason_required"
    called = await wang.post(path, {"step": "emergency_services", "service": "110"})
    assert called.status == 201
    bad = await wang.post(path, {"step": "made_up"})
    assert bad.status == 400
    steps = (await called.json())["protocol"]
    assert [(s["step"], s["actor"]) for s in steps] == [
        ("supervisor_alerted", "system"),
        ("location_asked", f"user:{wang.user_id}"),
        ("emergency_services", f"user:{wang.user_id}"),
    ]
    assert steps[1]["note"] == "在江边公园" and steps[2]["service"] == "110"
    events = [
        e
        for e in await client.server.app[keys.DATABASE].events_for(f"contact:{contact_id}")
        if e.kind == "protocol.step"
    ]
    assert [e.data["step"] for e in events] == [
        "supervisor_alerted",
        "location_asked",
        "emergency_services",
    ]
    assert "江边" not in str([e.data for e in events]), "the note is sealed, not in events"
