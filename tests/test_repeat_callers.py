"""Repeat callers: linked by keyed hash (of a number or a web-chat identity), never in clear;
their history opened only by whoever serves them, and every opening audited."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from structlog.testing import capture_logs

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.contacts import Channel, Contact, ContactState
from hotline.conversations import Conversations
from hotline.risk import RiskLevel
from hotline.store.contacts import CALLER_SUMMARY_SQL
from hotline.store.database import Transaction
from hotline.users import Role
from hotline.web import keys
from tests.conftest import Staff, StaffFactory, login_factory

NUMBER = "+8613912345678"
OTHER_NUMBER = "+8613987654321"
SUMMARY = "第一次来电：失眠两周，已给予支持"
WRAP = {
    "category": "suicidal_ideation",
    "outcome": "safety_plan",
    "referral": "community_health",
    "key_groups": [],
}


def identity() -> str:
    """What the chat page makes: 32 random bytes, base64url without padding (43 characters)."""
    return secrets.token_urlsafe(32)


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def _chat(client: TestClient[Any, Any], who: object = None) -> int:
    body: dict[str, Any] = {"district": None}
    if who is not None:
        body["identity"] = who
    started = await client.post("/chat/api/conversations", json=body)
    assert started.status == 201, "a person is never refused over their identity"
    return int((await started.json())["contact_id"])


async def _serve_and_close(
    staff: Staff, conversations: Conversations, contact_id: int, risk: RiskLevel, summary: str
) -> None:
    """Take the next contact (it must be this one), raise its risk, end it and wrap it up."""
    taken = await staff.post("/console/api/take-next")
    assert (await taken.json())["contact"]["id"] == contact_id
    await conversations.raise_risk(contact_id, risk, "screener", ["test"])
    await staff.post(f"/console/api/contacts/{contact_id}/end")
    wrapped = await staff.post(
        f"/console/api/contacts/{contact_id}/wrap-up",
        {
            **WRAP,
            "follow_up_wanted": False,
            "follow_up_reason": "person_declined",
            "summary": summary,
        },
    )
    assert wrapped.status == 200, await wrapped.text()


async def test_texts_and_a_call_from_one_number_are_linked(
    client: TestClient[Any, Any], clock: ManualClock, config: Config
) -> None:
    """Two SMS contacts and a call from one number are one person; another number is not."""
    conversations = _app(client)[keys.CONVERSATIONS]
    first, _, _ = await conversations.sms_received(NUMBER, "你好")
    clock.advance(minutes=config.telephony.sms_inactivity_minutes + 1)
    second, _, new = await conversations.sms_received(NUMBER, "又是我")
    assert new and second.id != first.id
    await conversations.raise_risk(second.id, RiskLevel.MODERATE, "screener", ["test"])
    clock.advance(minutes=5)
    call = await conversations.start_call("CA" + "1" * 32, NUMBER, RiskLevel.NONE, None)
    stranger, _, _ = await conversations.sms_received(OTHER_NUMBER, "你好")

    summary = await conversations.caller_summary(call.id)
    assert summary.earlier_contacts == 2
    assert summary.last_risk is RiskLevel.MODERATE
    assert summary.last_at == second.waiting_since
    assert summary.person_hash == conversations.caller_hash(NUMBER)
    assert (await conversations.caller_summary(second.id)).earlier_contacts == 1
    first_time = await conversations.caller_summary(first.id)
    assert (first_time.earlier_contacts, first_time.last_risk, first_time.last_at) == (
        0,
        None,
        None,
    )
    assert (await conversations.caller_summary(stranger.id)).earlier_contacts == 0
    # The statistics count repeat callers from the arrival events: a flag, never the hash.
    db = _app(client)[keys.DATABASE]
    rows = await db.fetchall(
        "SELECT subject, data FROM events WHERE kind = 'contact.queued' ORDER BY id"
    )
    repeat = {r["subject"]: json.loads(r["data"])["repeat"] for r in rows}
    assert repeat == {
        f"contact:{first.id}": False,
        f"contact:{second.id}": True,
        f"contact:{call.id}": True,
        f"contact:{stranger.id}": False,
    }
    assert all(conversations.caller_hash(NUMBER) not in r["data"] for r in rows)


async def test_a_text_never_joins_a_call_or_chat_of_the_same_person(
    client: TestClient[Any, Any],
) -> None:
    """The SMS thread lookup matches only SMS contacts: an open call from the number is apart."""
    conversations = _app(client)[keys.CONVERSATIONS]
    call = await conversations.start_call("CA" + "2" * 32, NUMBER, RiskLevel.NONE, None)
    text, _, new = await conversations.sms_received(NUMBER, "我在电话里没说完")
    assert new and text.id != call.id and text.channel is Channel.SMS
    assert [m.text for m in await conversations.messages(call.id)] == []


async def test_web_chats_with_one_identity_are_linked(client: TestClient[Any, Any]) -> None:
    """Two chats from one browser identity are one person; another identity is not."""
    conversations = _app(client)[keys.CONVERSATIONS]
    mine = identity()
    first = await _chat(client, mine)
    second = await _chat(client, mine)
    other = await _chat(client, identity())
    summary = await conversations.caller_summary(second)
    assert summary.earlier_contacts == 1
    assert summary.person_hash == conversations.chat_identity_hash(mine)
    assert summary.person_hash != conversations.caller_hash(mine), "never a number's hash"
    assert (await conversations.caller_summary(first)).earlier_contacts == 0
    assert (await conversations.caller_summary(other)).earlier_contacts == 0


@pytest.mark.parametrize(
    "bad",
    ["short", "a" * 21, "a" * 65, "has spaces in it and is long enough", "ab/cd+ef" * 4, 12345],
)
async def test_a_malformed_identity_is_ignored(client: TestClient[Any, Any], bad: object) -> None:
    """A malformed identity starts the chat all the same, linked to nobody."""
    conversations = _app(client)[keys.CONVERSATIONS]
    first = await _chat(client, bad)
    second = await _chat(client, bad)
    for contact_id in (first, second):
        summary = await conversations.caller_summary(contact_id)
        assert (summary.person_hash, summary.earlier_contacts) == (None, 0)


def _on_disk(folder: Path) -> tuple[bytes, set[str]]:
    """Every byte under the data folder (database, WAL, key) and the file names."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return b"".join(p.read_bytes() for p in files), {p.name for p in files}


async def test_numbers_and_identities_are_never_on_disk_in_clear(
    client: TestClient[Any, Any], config: Config
) -> None:
    """The SQLite files (database and WAL) hold neither the number nor the chat identity."""
    conversations = _app(client)[keys.CONVERSATIONS]
    mine = identity()
    await _chat(client, mine)
    await _chat(client, mine)
    await conversations.sms_received(NUMBER, "你好")
    await conversations.start_call("CA" + "3" * 32, NUMBER, RiskLevel.NONE, None)
    raw, names = _on_disk(config.data_dir)
    assert "hotline.sqlite3-wal" in names
    for secret in (mine, NUMBER, NUMBER.removeprefix("+86"), mine[:22]):
        assert secret.encode() not in raw, f"{secret!r} is on disk in clear"
    assert conversations.chat_identity_hash(mine).encode() in raw, "linked by its keyed hash"


async def test_caller_summary_is_one_indexed_query(client: TestClient[Any, Any]) -> None:
    """The summary reads the caller-hash index, never a scan of every contact."""
    plan = await _app(client)[keys.DATABASE].fetchall(
        "EXPLAIN QUERY PLAN " + CALLER_SUMMARY_SQL, (1,)
    )
    steps = [str(row["detail"]) for row in plan]
    assert any("contacts_caller" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps


async def test_the_serving_counsellor_sees_the_person_and_opens_the_history(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Count, last risk and open cases for the serving counsellor; the history read is audited."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    wang = await login("wang")
    mine = identity()
    first = await _chat(client, mine)
    await _serve_and_close(wang, conversations, first, RiskLevel.HIGH, SUMMARY)
    second = await _chat(client, mine)
    taken = await wang.post("/console/api/take-next")
    assert (await taken.json())["contact"]["id"] == second

    caller = await wang.get(f"/console/api/contacts/{second}/caller")
    assert caller.status == 200
    body = await caller.json()
    started = (await conversations.get(first)).waiting_since
    assert body == {
        "earlier_contacts": 1,
        "last_risk": "high",
        "last_at": started.isoformat(),
        "open_cases": [],
    }
    db = app[keys.DATABASE]
    assert [
        e for e in await db.events_for(f"contact:{second}") if e.kind.startswith("audit.")
    ] == []

    opened = await wang.post(f"/console/api/contacts/{second}/history")
    assert opened.status == 200
    history = await opened.json()
    assert history["recorded"] is True and history["total"] == 1
    [earlier] = history["earlier_contacts"]
    assert earlier == {
        "id": first,
        "channel": "webchat",
        "state": "closed",
        "started_at": started.isoformat(),
        "risk": "high",
        "wrap_up": {
            "category": "suicidal_ideation",
            "outcome": "safety_plan",
            "referral": "community_health",
            "follow_up_wanted": False,
            "follow_up_reason": "person_declined",
            "summary": SUMMARY,
        },
    }
    audits = [e for e in await db.events_for(f"contact:{second}") if e.kind.startswith("audit.")]
    assert [(e.kind, e.actor, e.data) for e in audits] == [
        (
            "audit.history_opened",
            f"user:{wang.user_id}",
            {"earlier_contacts": 1, "purpose": "serving_contact"},
        )
    ]
    trail = await db.fetchall(
        "SELECT actor, action, subject, purpose FROM audit_log WHERE action = 'history.opened'"
    )
    assert [tuple(r) for r in trail] == [
        (f"user:{wang.user_id}", "history.opened", f"contact:{second}", "serving_contact")
    ]


async def test_only_whoever_serves_the_person_may_look(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Another counsellor gets 403 and leaves no audit record; a supervisor may, as supervision."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    wang = await login("wang")
    li = await login("li")
    boss = await login("zhao", Role.SUPERVISOR, available=False)
    coordinator = await login("sun", Role.COORDINATOR)
    mine = identity()
    first = await _chat(client, mine)
    await _serve_and_close(wang, conversations, first, RiskLevel.HIGH, SUMMARY)
    second = await _chat(client, mine)
    await wang.post("/console/api/take-next")

    for path in (f"/console/api/contacts/{second}/caller",):
        assert (await li.get(path)).status == 403
        assert (await coordinator.get(path)).status == 403
    refused = await li.post(f"/console/api/contacts/{second}/history")
    assert refused.status == 403
    assert (await refused.json())["error"] == "not_yours"
    no_csrf = await wang.client.post(f"/console/api/contacts/{second}/history")
    assert no_csrf.status == 403
    # A contact once held and now closed is no longer being served by its counsellor.
    assert (await wang.post(f"/console/api/contacts/{first}/history")).status == 403
    db = app[keys.DATABASE]
    for contact_id in (first, second):
        kinds = [e.kind for e in await db.events_for(f"contact:{contact_id}")]
        assert "audit.history_opened" not in kinds

    supervised = await boss.post(f"/console/api/contacts/{second}/history")
    assert supervised.status == 200
    assert (await boss.get(f"/console/api/contacts/{second}/caller")).status == 200
    [audit] = [e for e in await db.events_for(f"contact:{second}") if e.kind.startswith("audit.")]
    assert (audit.actor, audit.data["purpose"]) == (f"user:{boss.user_id}", "supervision")


async def test_open_cases_come_from_the_case_lookup(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]], app: web.Application
) -> None:
    """With follow-up wired in, the person's open cases come back by their keyed hash."""
    asked: list[str] = []
    due = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)

    async def lookup(person_hash: str) -> list[dict[str, object]]:
        asked.append(person_hash)
        return [
            {
                "id": 7,
                "pseudonym": "F-7K3Q",
                "risk": "high",
                "next_due_at": due,
                "owner": "镜湖区心理援助队",
            }
        ]

    async def case_lookup_ctx(app: web.Application) -> AsyncIterator[None]:
        app[keys.CASE_LOOKUP] = lookup  # after the app's own contexts: this one wins
        yield

    app.cleanup_ctx.append(case_lookup_ctx)
    client = await aiohttp_client(app)
    wang = await login_factory(aiohttp_client, client)("wang")
    conversations = app[keys.CONVERSATIONS]
    mine = identity()
    first = await _chat(client, mine)
    await _serve_and_close(wang, conversations, first, RiskLevel.HIGH, SUMMARY)
    second = await _chat(client, mine)
    await wang.post("/console/api/take-next")
    body = await (await wang.get(f"/console/api/contacts/{second}/caller")).json()
    assert body["open_cases"] == [
        {
            "id": 7,
            "pseudonym": "F-7K3Q",
            "risk": "high",
            "next_due_at": due.isoformat(),
            "owner": "镜湖区心理援助队",
        }
    ]
    assert asked == [conversations.chat_identity_hash(mine)]

    await wang.post(f"/console/api/contacts/{second}/end")
    await wang.post(
        f"/console/api/contacts/{second}/wrap-up",
        {**WRAP, "follow_up_wanted": False, "summary": ""},
    )
    nobody = await _chat(client)  # no identity: nothing to look a case up by
    await wang.post("/console/api/take-next")
    body = await (await wang.get(f"/console/api/contacts/{nobody}/caller")).json()
    assert (body["earlier_contacts"], body["open_cases"]) == (0, [])
    assert len(asked) == 1


async def test_contact_started_hook_runs_in_the_creating_transaction(
    client: TestClient[Any, Any], clock: ManualClock
) -> None:
    """Each new linkable contact (call, new SMS thread, chat with identity) is announced
    inside the transaction that creates it; what the hook writes commits with it."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    db = app[keys.DATABASE]
    seen: list[tuple[int, Channel, str | None, int]] = []

    async def started(tx: Transaction, contact: Contact) -> None:
        in_tx = await tx.fetchval("SELECT caller_hash FROM contacts WHERE id = ?", (contact.id,))
        committed = await db.fetchval("SELECT COUNT(*) FROM contacts WHERE id = ?", (contact.id,))
        seen.append((contact.id, contact.channel, in_tx, committed))
        await tx.append_event("followup.linked", f"contact:{contact.id}", "system")

    conversations.on_contact_started = started
    chats = [identity() for _ in range(3)]
    # Arrivals together go in one intake batch: the hook still hears each contact.
    batch = await asyncio.gather(*(_chat(client, who) for who in chats))
    anonymous = await _chat(client)
    call = await conversations.start_call("CA" + "4" * 32, NUMBER, RiskLevel.NONE, None)
    text, _, _ = await conversations.sms_received(OTHER_NUMBER, "你好")
    clock.advance(minutes=1)
    await conversations.sms_received(OTHER_NUMBER, "还在吗")  # the same thread: not new

    hashes = {
        **{
            cid: conversations.chat_identity_hash(who)
            for cid, who in zip(batch, chats, strict=True)
        },
        call.id: conversations.caller_hash(NUMBER),
        text.id: conversations.caller_hash(OTHER_NUMBER),
    }
    assert sorted(seen) == sorted(
        [(cid, Channel.WEBCHAT, hashes[cid], 0) for cid in batch]
        + [(call.id, Channel.VOICE, hashes[call.id], 0), (text.id, Channel.SMS, hashes[text.id], 0)]
    ), "called once per new linkable contact, before the contact was committed"
    assert anonymous not in {cid for cid, *_ in seen}
    for contact_id in hashes:
        kinds = [e.kind for e in await db.events_for(f"contact:{contact_id}")]
        assert kinds.index("contact.queued") < kinds.index("followup.linked")


async def test_a_failing_contact_started_hook_never_costs_the_person_their_place(
    client: TestClient[Any, Any],
) -> None:
    """If linking fails, its writes are undone alone; the person is queued all the same."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]

    async def broken(tx: Transaction, contact: Contact) -> None:
        await tx.append_event("followup.linked", f"contact:{contact.id}", "system")
        raise RuntimeError("the follow-up store is broken")

    conversations.on_contact_started = broken
    mine = identity()
    with capture_logs() as logs:
        contact_id = await _chat(client, mine)
        text, _, _ = await conversations.sms_received(NUMBER, "你好")
    for queued in (contact_id, text.id):
        assert (await conversations.get(queued)).state is ContactState.QUEUED
        kinds = [e.kind for e in await app[keys.DATABASE].events_for(f"contact:{queued}")]
        assert "followup.linked" not in kinds and "contact.queued" in kinds
    failures = [entry for entry in logs if entry["event"] == "contact_started_hook_failed"]
    assert {entry["contact_id"] for entry in failures} == {contact_id, text.id}
    assert mine not in repr(logs) and NUMBER not in repr(logs)
    assert [m.text for m in await conversations.messages(text.id)] == ["你好"]
