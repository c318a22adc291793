"""Staff security: sessions, CSRF, roles, origins, and who may see which contact."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from hotline.users import Role
from hotline.web import keys
from tests.conftest import PASSWORD, StaffFactory, submit_login


async def _queued_contact(client: TestClient[Any, Any]) -> dict[str, Any]:
    return dict(await (await client.post("/chat/api/conversations", json={})).json())


async def test_api_needs_a_session(client: TestClient[Any, Any]) -> None:
    """Without logging in, the console API answers 401 and the page redirects to login."""
    response = await client.get("/console/api/state")
    assert response.status == 401
    assert (await response.json())["error"] == "login_required"
    page = await client.get("/console", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/console"


async def test_post_without_csrf_token_is_refused(login: StaffFactory) -> None:
    """A logged-in browser tricked into posting without the page's token changes nothing."""
    staff = await login("wang", available=False)
    response = await staff.client.post("/console/api/presence", json={"status": "available"})
    assert response.status == 403 and (await response.json())["error"] == "csrf"
    forged = await staff.client.post(
        "/console/api/presence", json={"status": "available"}, headers={"X-CSRF-Token": "guess"}
    )
    assert forged.status == 403
    me = (await (await staff.get("/console/api/state")).json())["me"]
    assert me["presence"] == "offline"


async def test_session_cookie_flags_and_logout(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The session cookie is HttpOnly and SameSite=Strict; logging out ends it server-side."""
    staff = await login("wang")
    response = await submit_login(client, "wang")
    [session_cookie] = [
        c for c in response.headers.getall("Set-Cookie") if c.startswith("hotline_session=")
    ]
    assert "HttpOnly" in session_cookie and "SameSite=Strict" in session_cookie
    jar = staff.client.session.cookie_jar.filter_cookies(staff.client.make_url("/"))
    stolen = jar["hotline_session"].value
    out = await staff.client.post("/logout", data={"csrf_token": staff.csrf}, allow_redirects=False)
    assert out.status == 303
    staff.client.session.cookie_jar.update_cookies({"hotline_session": stolen})
    assert (await staff.client.get("/console/api/state")).status == 401


async def test_login_failures(client: TestClient[Any, Any], login: StaffFactory) -> None:
    """A wrong password re-shows the form; a form without its CSRF cookie is refused."""
    await login("wang")
    form = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await form.text())
    assert csrf
    wrong = await client.post(
        "/login", data={"username": "wang", "password": "nope", "csrf_token": csrf.group(1)}
    )
    assert wrong.status == 401 and "用户名或密码不正确" in await wrong.text()
    client.session.cookie_jar.clear()
    forged = await client.post(
        "/login", data={"username": "wang", "password": PASSWORD, "csrf_token": csrf.group(1)}
    )
    assert forged.status == 403
    assert "hotline_session" not in {c.key for c in client.session.cookie_jar}


async def test_login_does_not_redirect_off_site(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """`next` may only name a path on this site."""
    await login("wang")
    response = await submit_login(client, "wang", next="//evil.example/phish")
    assert response.headers["Location"] == "/console"


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN])
async def test_roles_without_console_get_a_clear_refusal(login: StaffFactory, role: Role) -> None:
    """Coordinators and administrators are told plainly that the console is not theirs."""
    staff = await login("zhao", role)
    page = await staff.get("/console")
    assert page.status == 403 and "不使用咨询员工作台" in await page.text()
    api = await staff.get("/console/api/state")
    assert api.status == 403 and (await api.json())["error"] == "wrong_role"


async def test_counsellor_sees_only_own_contacts_supervisor_sees_all_audited(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Another's conversation is closed to a counsellor, open to a supervisor (and logged)."""
    wang = await login("wang")
    li = await login("li")
    chen = await login("chen", Role.SUPERVISOR)
    await _queued_contact(client)
    contact = (await (await wang.post("/console/api/take-next")).json())["contact"]
    path = f"/console/api/contacts/{contact['id']}"
    assert (await li.get(path)).status == 403
    reply = await li.post(f"{path}/messages", {"text": "hello"})
    assert reply.status == 403 and (await reply.json())["error"] == "not_yours"
    assert (await li.post(f"{path}/end")).status == 403
    assert (await chen.get(path)).status == 200
    app = client.server.app
    assert app is not None
    events = await app[keys.DATABASE].events_for(f"contact:{contact['id']}")
    assert events[-1].kind == "contact.viewed" and events[-1].actor == f"user:{chen.user_id}"
    state = await (await chen.get("/console/api/state")).json()
    floor = {c["id"]: c for c in state["floor"]["counsellors"]}
    assert floor[wang.user_id]["active_contacts"] == 1
    assert [c["id"] for c in state["floor"]["active"]] == [contact["id"]]
    assert (await (await li.get("/console/api/state")).json())["floor"] is None


async def test_websockets_check_origin_and_identity(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Sockets from another site are refused; a console socket needs a session."""
    started = await _queued_contact(client)
    with pytest.raises(aiohttp.WSServerHandshakeError) as chat:
        await client.ws_connect(
            f"/chat/ws?token={started['token']}", headers={"Origin": "https://evil.example"}
        )
    assert chat.value.status == 403
    origin = str(client.make_url("")).rstrip("/")
    with pytest.raises(aiohttp.WSServerHandshakeError) as anonymous:
        await client.ws_connect("/console/ws", headers={"Origin": origin})
    assert anonymous.value.status == 401
    staff = await login("wang")
    with pytest.raises(aiohttp.WSServerHandshakeError) as cross:
        await staff.client.ws_connect("/console/ws", headers={"Origin": "https://evil.example"})
    assert cross.value.status == 403
    async with staff.client.ws_connect("/console/ws", headers={"Origin": origin}) as ws:
        me = await ws.receive_json(timeout=5)
        assert me["type"] == "me" and me["me"]["presence"] == "available"
        first = await ws.receive_json(timeout=5)
        assert first["type"] == "queue" and first["queue"][0]["id"] == started["contact_id"]
        assert set(first["queue"][0]) == {
            "id",
            "channel",
            "risk",
            "district",
            "state",
            "waiting_since",
            "position",
            "incident_id",  # the mass incident's number (surge mode), never anything said
        }


async def test_pages_send_security_headers(client: TestClient[Any, Any]) -> None:
    """Every page forbids framing and foreign scripts."""
    for path in ("/chat", "/login"):
        response = await client.get(path)
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
