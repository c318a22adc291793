"""The whole path over HTTP and websockets: a person chats, a counsellor answers and closes."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import StaffFactory


async def _receive_until(ws: Any, wanted: str) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] == wanted:
            return frame


async def test_person_to_counsellor_and_back(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A web-chat message reaches the counsellor who took it; the reply reaches the person."""
    counsellor = await login("wang")
    start = await client.post(
        "/chat/api/conversations", json={"district": "jinghu", "lang": "zh-CN"}
    )
    assert start.status == 201
    started = await start.json()
    origin = str(client.make_url("")).rstrip("/")
    async with client.ws_connect(
        f"/chat/ws?token={started['token']}", headers={"Origin": origin}
    ) as ws:
        assert (await ws.receive_json())["type"] == "history"
        status = await ws.receive_json()
        assert status == {"type": "status", "state": "queued", "position": 1, "wait_minutes": 20}
        await ws.send_json({"type": "message", "text": "我最近很难受"})
        echo = await _receive_until(ws, "message")
        assert echo["message"]["text"] == "我最近很难受"

        taken = await counsellor.post("/console/api/take-next")
        assert taken.status == 200
        contact = (await taken.json())["contact"]
        assert contact["id"] == started["contact_id"]
        assert contact["state"] == "active"
        assert [m["text"] for m in contact["messages"]] == ["我最近很难受"]
        # Status frames also follow risk changes (the scanner read the message): wait for
        # the one that says a counsellor has the conversation.
        while (await _receive_until(ws, "status"))["state"] != "active":
            pass

        reply = await counsellor.post(
            f"/console/api/contacts/{contact['id']}/messages", {"text": "我在这里，慢慢说。"}
        )
        assert reply.status == 201
        heard = await _receive_until(ws, "message")
        assert heard["message"] == {
            **heard["message"],
            "from": "counsellor",
            "text": "我在这里，慢慢说。",
        }

        ended = await counsellor.post(f"/console/api/contacts/{contact['id']}/end")
        assert (await ended.json())["state"] == "wrap_up"
        assert (await _receive_until(ws, "ended"))["by"] == "counsellor"

    wrap = await counsellor.post(
        f"/console/api/contacts/{contact['id']}/wrap-up",
        {
            "category": "emotional_distress",
            "outcome": "supported",
            "referral": "none",
            "follow_up_wanted": True,
            # A web chat has no number of its own: consent to follow-up needs one to reach
            # the person by.
            "follow_up_phone": "+86 138 0000 0000",
            "key_groups": ["minor"],
            "summary": "情绪低落，已支持",
        },
    )
    assert wrap.status == 200, await wrap.text()
    closed = await wrap.json()
    assert closed["state"] == "closed"
    assert closed["wrap_up"]["follow_up_wanted"] is True
    assert "8613800000000" not in json.dumps(closed), "the follow-up number is not kept here"
    health = await (await client.get("/healthz")).json()
    assert health == {"status": "ok", "database": "ok", "queue_length": 0, "spooled": 0}
