"""The public web chat: starting, resuming, ending, and limits that answer abuse clearly."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.web import keys
from hotline.web.app import create_app


def _origin(client: TestClient[Any, Any]) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def _start(client: TestClient[Any, Any], **body: Any) -> dict[str, Any]:
    response = await client.post("/chat/api/conversations", json=body)
    assert response.status == 201, await response.text()
    return dict(await response.json())


async def _until(ws: Any, wanted: str) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] == wanted:
            return dict(frame)


async def test_start_validates_district_and_body(client: TestClient[Any, Any]) -> None:
    """An unknown district or a body that is not JSON gets a 400 that says what to fix."""
    bad = await client.post("/chat/api/conversations", json={"district": "atlantis"})
    assert bad.status == 400
    error = await bad.json()
    assert error["error"] == "unknown_district" and "jinghu" in error["message"]
    garbage = await client.post("/chat/api/conversations", data=b"\xff{not json")
    assert garbage.status == 400 and (await garbage.json())["error"] == "bad_request"
    options = await (await client.get("/chat/api/options")).json()
    assert [d["id"] for d in options["districts"]][:2] == ["jinghu", "yijiang"]
    assert (await (await client.get("/healthz")).json())["queue_length"] == 0


async def test_too_many_starts_get_429(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """One address starting conversations in a loop is slowed down with a clear message."""
    limited = replace(config, webchat=replace(config.webchat, starts_per_minute=3))
    client = await aiohttp_client(create_app(limited, clock=clock))
    for _ in range(3):
        await _start(client)
    refused = await client.post("/chat/api/conversations", json={})
    assert refused.status == 429 and (await refused.json())["error"] == "too_many_starts"
    clock.advance(seconds=61)
    await _start(client)


async def test_reconnect_resumes_the_same_conversation(client: TestClient[Any, Any]) -> None:
    """A reload or a dropped connection brings back the same conversation and its history."""
    started = await _start(client, district="sanshan")
    url = f"/chat/ws?token={started['token']}"
    async with client.ws_connect(url, headers=_origin(client)) as ws:
        await ws.send_json({"type": "message", "text": "第一句"})
        await _until(ws, "message")
    async with client.ws_connect(url, headers=_origin(client)) as ws:
        history = await ws.receive_json(timeout=5)
        assert history["type"] == "history"
        assert [m["text"] for m in history["messages"]] == ["第一句"]
        assert (await ws.receive_json(timeout=5))["state"] == "queued"
    app = client.server.app
    assert app is not None
    assert (await app[keys.CONVERSATIONS].queue_length()) == 1


async def test_unknown_token_is_closed_with_4404(client: TestClient[Any, Any]) -> None:
    """A made-up token learns nothing and gets a distinct close code."""
    async with client.ws_connect("/chat/ws?token=made-up", headers=_origin(client)) as ws:
        frame = await ws.receive(timeout=5)
        assert frame.type is aiohttp.WSMsgType.CLOSE and frame.data == 4404


async def test_abuse_gets_error_frames_not_a_crash(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """Too long, too fast, not JSON, binary: each gets an error frame and the chat goes on."""
    tight = replace(
        config,
        webchat=replace(
            config.webchat, max_message_chars=50, messages_per_window=3, window_seconds=10
        ),
    )
    client = await aiohttp_client(create_app(tight, clock=clock))
    started = await _start(client)
    async with client.ws_connect(
        f"/chat/ws?token={started['token']}", headers=_origin(client)
    ) as ws:
        await ws.send_json({"type": "message", "text": "长" * 51})
        error = await _until(ws, "error")
        assert error["code"] == "too_long" and "50" in error["message"]
        await ws.send_str("{not json")
        assert (await _until(ws, "error"))["code"] == "bad_request"
        await ws.send_bytes(b"\x00\x01")
        assert (await _until(ws, "error"))["code"] == "bad_request"
        await ws.send_json({"type": "message", "text": "   "})
        assert (await _until(ws, "error"))["code"] == "empty"
        for i in range(3):
            await ws.send_json({"type": "message", "text": f"消息{i}"})
            await _until(ws, "message")
        await ws.send_json({"type": "message", "text": "too fast"})
        assert (await _until(ws, "error"))["code"] == "too_fast"
        clock.advance(seconds=11)
        await ws.send_json({"type": "message", "text": "slower now"})
        assert (await _until(ws, "message"))["message"]["text"] == "slower now"
    app = client.server.app
    assert app is not None
    texts = [m.text for m in await app[keys.CONVERSATIONS].messages(started["contact_id"])]
    assert texts == ["消息0", "消息1", "消息2", "slower now"]


async def test_oversized_frame_closes_only_that_socket(client: TestClient[Any, Any]) -> None:
    """A frame far beyond any message closes the socket; the conversation itself survives."""
    started = await _start(client)
    url = f"/chat/ws?token={started['token']}"
    async with client.ws_connect(url, headers=_origin(client)) as ws:
        await ws.receive_json(timeout=5)
        await ws.send_str("x" * 200_000)
        while (frame := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
            pass
        assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    async with client.ws_connect(url, headers=_origin(client)) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "history"


async def test_person_can_end_while_waiting(client: TestClient[Any, Any]) -> None:
    """Ending before anyone answered leaves the queue at once, as abandoned."""
    started = await _start(client)
    async with client.ws_connect(
        f"/chat/ws?token={started['token']}", headers=_origin(client)
    ) as ws:
        await ws.send_json({"type": "end"})
        assert (await _until(ws, "ended"))["by"] == "caller"
        await ws.send_json({"type": "message", "text": "还在吗"})
        assert (await _until(ws, "error"))["code"] == "ended"
    app: web.Application | None = client.server.app
    assert app is not None
    contact = await app[keys.CONVERSATIONS].get(started["contact_id"])
    assert contact.state.value == "abandoned"
    assert await app[keys.CONVERSATIONS].queue_length() == 0


async def test_queue_position_updates_as_others_are_answered(
    client: TestClient[Any, Any], login: Any
) -> None:
    """A waiting person sees their place move up when the one ahead is taken."""
    counsellor = await login("wang")
    await _start(client)
    second = await _start(client)
    async with client.ws_connect(
        f"/chat/ws?token={second['token']}", headers=_origin(client)
    ) as ws:
        assert (await _until(ws, "status"))["position"] == 2
        await counsellor.post("/console/api/take-next")
        assert (await _until(ws, "status"))["position"] == 1
