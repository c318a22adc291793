"""The audit page's API (/api/audit) and page (/audit): admins only, filters, paging, the
chain check on every answer; through the real app on real SQLite with a manual clock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline import audit
from hotline.clock import ManualClock, to_iso
from hotline.store.database import DB_FILE
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import SESSION_COOKIE

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]


def app_of(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def add_staff(app: web.Application, username: str, role: Role) -> int:
    """A staff row written directly (no argon2 hash: these accounts log in by session)."""
    async with app[keys.DATABASE].transaction() as tx:
        user_id = int(
            await tx.fetchval(
                "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
                " VALUES (?, ?, ?, 'x', ?) RETURNING id",
                (username, b"", role.value, to_iso(tx.clock.now())),
            )
        )
        sealed = app[keys.CIPHER].seal(f"{username} 老师", f"users.display_name:{user_id}")
        await tx.execute("UPDATE users SET display_name_enc = ? WHERE id = ?", (sealed, user_id))
    return user_id


async def session_client(
    aiohttp_client: ClientFactory, client: TestClient[Any, Any], user_id: int
) -> TestClient[Any, Any]:
    """A client of its own carrying a fresh session of `user_id`."""
    token, _ = await app_of(client)[keys.SESSIONS].create(user_id)
    own = await aiohttp_client(client.server)
    own.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
    return own


@pytest.fixture
async def admin(
    aiohttp_client: ClientFactory, client: TestClient[Any, Any]
) -> TestClient[Any, Any]:
    """Logged in as `root`, an administrator."""
    user_id = await add_staff(app_of(client), "root", Role.ADMIN)
    return await session_client(aiohttp_client, client, user_id)


async def write(
    app: web.Application,
    actor: str,
    action: str,
    subject: str,
    purpose: str = "supervision",
    **data: Any,
) -> None:
    async with app[keys.DATABASE].transaction() as tx:
        await audit.record(
            tx, actor=actor, action=action, subject=subject, purpose=purpose, data=data
        )


async def answer(client: TestClient[Any, Any], query: str = "", status: int = 200) -> Any:
    response = await client.get(f"/api/audit{query}")
    assert response.status == status, await response.text()
    return await response.json()


async def test_only_admins_read_the_trail(
    aiohttp_client: ClientFactory, client: TestClient[Any, Any], admin: TestClient[Any, Any]
) -> None:
    """No session: the login form or 401; counsellor, supervisor, coordinator: 403."""
    page = await client.get("/audit", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/login?next=/audit"
    assert (await client.get("/api/audit")).status == 401
    for role in (Role.COUNSELLOR, Role.SUPERVISOR, Role.COORDINATOR):
        user_id = await add_staff(app_of(client), f"not-{role.value}", role)
        other = await session_client(aiohttp_client, client, user_id)
        refused = await other.get("/audit")
        assert refused.status == 403, role
        assert "只有管理员" in await refused.text() and "forbidden-heading" in await refused.text()
        refused_api = await other.get("/api/audit")
        assert refused_api.status == 403 and (await refused_api.json())["error"] == "wrong_role"
    page = await admin.get("/audit")
    text = await page.text()
    assert page.status == 200 and "/static/audit.js" in text and "/static/staff.js" in text
    assert '<meta name="time-zone" content="Asia/Shanghai">' in text
    assert (await answer(admin))["records"] == []


async def test_records_come_newest_first_with_login_names_not_display_names(
    client: TestClient[Any, Any], admin: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Actors and account subjects by login name and role; never the sealed display name."""
    app = app_of(client)
    zhao = await add_staff(app, "zhao", Role.SUPERVISOR)
    await write(app, "admin", "role.granted", f"user:{zhao}", "account_created", role="supervisor")
    clock.advance(minutes=5)
    await write(app, f"user:{zhao}", "contact.viewed", "contact:12", role="supervisor")
    clock.advance(minutes=5)
    await write(app, "responder", "dispatch.acknowledged_on_behalf", "dispatch:7", "board")
    body = await answer(admin)
    first, second, third = body["records"]
    assert [first["id"], second["id"], third["id"]] == [3, 2, 1]
    assert first["actor"] == "responder" and first["actor_account"] is None
    assert second["actor_account"] == {"username": "zhao", "role": "supervisor"}
    assert second["at"] == to_iso(clock.now().replace(minute=5))
    assert (second["subject"], second["data"]) == ("contact:12", {"role": "supervisor"})
    assert third["subject_account"] == {"username": "zhao", "role": "supervisor"}
    assert third["purpose"] == "account_created" and third["actor"] == "admin"
    assert body["actions"] == sorted(
        ["contact.viewed", "dispatch.acknowledged_on_behalf", "role.granted"]
    )
    assert body["chain"] == {"checked": 3, "intact": True, "broken_at": None, "problem": None}
    assert body["next_before_id"] is None
    assert "老师" not in await (await admin.get("/api/audit")).text()


async def test_filters_by_action_actor_and_days_on_the_hotline_clock(
    aiohttp_client: ClientFactory, client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Action exactly; actor by login name (any case) or code; days in Asia/Shanghai."""
    app = app_of(client)
    zhao = await add_staff(app, "zhao", Role.SUPERVISOR)
    wang = await add_staff(app, "wang", Role.COUNSELLOR)
    root = await add_staff(app, "root", Role.ADMIN)
    # The clock starts at 03:00 UTC on 23 November: 11:00 on the hotline's clock.
    await write(app, f"user:{zhao}", "contact.viewed", "contact:1")  # 23rd 11:00
    clock.advance(hours=12, minutes=30)
    await write(app, f"user:{wang}", "history.opened", "contact:2", "serving_contact")  # 23:30
    clock.advance(hours=1)
    await write(app, f"user:{zhao}", "history.opened", "contact:3")  # 24th 00:30
    clock.advance(days=1)
    await write(app, "admin", "role.granted", f"user:{wang}", "account_created")  # 25th 00:30
    admin = await session_client(aiohttp_client, client, root)  # a session of now, not of then

    def ids(body: dict[str, Any]) -> list[int]:
        return [r["id"] for r in body["records"]]

    assert ids(await answer(admin, "?action=history.opened")) == [3, 2]
    assert ids(await answer(admin, "?actor=ZHAO")) == [3, 1]
    assert ids(await answer(admin, f"?actor=user:{wang}")) == [2]
    assert ids(await answer(admin, "?actor=admin")) == [4]
    assert ids(await answer(admin, "?actor=nobody")) == []
    assert ids(await answer(admin, "?from=2026-11-24")) == [4, 3]
    assert ids(await answer(admin, "?to=2026-11-23")) == [2, 1]
    assert ids(await answer(admin, "?from=2026-11-24&to=2026-11-24")) == [3]
    assert ids(await answer(admin, "?action=history.opened&actor=zhao&from=2026-11-23")) == [3]
    # The actions offered stay every action recorded, whatever the filter.
    filtered = await answer(admin, "?action=role.granted")
    assert filtered["actions"] == ["contact.viewed", "history.opened", "role.granted"]


async def test_pages_go_back_by_id_until_the_first_record(
    client: TestClient[Any, Any], admin: TestClient[Any, Any]
) -> None:
    """`next_before_id` leads page by page to record 1, then is null."""
    app = app_of(client)
    for n in range(1, 8):
        await write(app, "user:1", "history.opened", f"contact:{n}")
    pages = []
    query = "?limit=3"
    while True:
        body = await answer(admin, query)
        pages.append([r["id"] for r in body["records"]])
        if body["next_before_id"] is None:
            break
        query = f"?limit=3&before_id={body['next_before_id']}"
    assert pages == [[7, 6, 5], [4, 3, 2], [1]]
    exact = await answer(admin, "?limit=7")
    assert len(exact["records"]) == 7 and exact["next_before_id"] is None
    assert len((await answer(admin))["records"]) == 7  # 50 by default


def _tamper(path: str, statement: str) -> None:
    """What someone with the file could do: drop the guards and edit a row."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("statement", "broken_at", "checked", "problem"),
    [
        ("UPDATE audit_log SET purpose = 'curiosity' WHERE id = 2", 2, 1, "changed"),
        ("UPDATE audit_log SET data = '{' WHERE id = 3", 3, 2, "not readable"),
        ("DELETE FROM audit_log WHERE id = 2", 3, 1, "record 2 is missing"),
    ],
)
async def test_an_edit_behind_the_application_shows_as_a_broken_chain(
    client: TestClient[Any, Any],
    admin: TestClient[Any, Any],
    statement: str,
    broken_at: int,
    checked: int,
    problem: str,
) -> None:
    """The answer names the first broken record; the records are still listed as they are."""
    app = app_of(client)
    for n in range(1, 5):
        await write(app, "user:1", "history.opened", f"contact:{n}")
    assert (await answer(admin))["chain"]["intact"]
    path = str(app[keys.CONFIG].data_dir / DB_FILE)
    await asyncio.to_thread(_tamper, path, statement)
    body = await answer(admin)
    chain = body["chain"]
    assert not chain["intact"] and chain["broken_at"] == broken_at
    assert problem in chain["problem"] and chain["checked"] == checked
    shown = {r["id"]: r for r in body["records"]}
    if "purpose" in statement:
        assert shown[2]["purpose"] == "curiosity"
    if "data" in statement:
        assert shown[3]["data"] == {"unreadable": "{"}


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("?limit=0", "limit", "whole number"),
        ("?limit=abc", "limit", "whole number"),
        ("?limit=101", "limit", "1 to 100"),
        ("?before_id=-3", "before_id", "whole number"),
        ("?before_id=1.5", "before_id", "whole number"),
        ("?from=2026-13-01", "from", "a date like 2026-11-23"),
        ("?from=23/11/2026", "from", "a date like 2026-11-23"),
        ("?to=yesterday", "to", "a date like 2026-11-23"),
        ("?from=2026-11-24&to=2026-11-23", "from", "not be after"),
        ("?action=DROP%20TABLE", "action", "a code like"),
        ("?actor=" + "x" * 65, "actor", "at most 64"),
    ],
)
async def test_bad_parameters_are_refused_with_a_message(
    admin: TestClient[Any, Any], query: str, field: str, says: str
) -> None:
    """400, naming the parameter and what to type instead."""
    body = await answer(admin, query, status=400)
    assert body["error"] == "invalid" and body["field"] == field and says in body["message"]


async def test_staff_pages_link_to_the_audit_page_for_admins_only(
    aiohttp_client: ClientFactory, client: TestClient[Any, Any], admin: TestClient[Any, Any]
) -> None:
    """The shared top bar links to /audit, marked with the page's role; the style sheet
    shows the link on an admin's page only."""
    link = '<a id="audit-link" class="btn btn-quiet audit-link" href="/audit" data-role="{}"'
    assert link.format("admin") in await (await admin.get("/dispatch")).text()
    user_id = await add_staff(app_of(client), "zhao", Role.SUPERVISOR)
    zhao = await session_client(aiohttp_client, client, user_id)
    assert link.format("supervisor") in await (await zhao.get("/followups")).text()
    style = await (await client.get("/static/style.css")).text()
    assert '.audit-link:not([data-role="admin"]) {\n  display: none;' in style
