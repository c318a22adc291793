"""Responders' SMS replies: reading them, and what each does to a dispatch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.desk import DispatchDesk
from dispatch.replies import Reply, ReplyAction, Unreadable, parse_reply
from dispatch.throttle import next_slot
from hotline.clock import ManualClock
from hotline.risk import RiskLevel


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("4821 1", Reply("4821", ReplyAction.ACCEPT)),
        ("48211", Reply("4821", ReplyAction.ACCEPT)),  # four digits then the answer, no space
        ("  4821   1 。", Reply("4821", ReplyAction.ACCEPT)),
        ("４８２１　１", Reply("4821", ReplyAction.ACCEPT)),  # a Chinese keyboard's full width
        ("4821 2", Reply("4821", ReplyAction.DECLINE)),
        ("4821 2 在外地出差", Reply("4821", ReplyAction.DECLINE, reason="在外地出差")),
        ("4821 eta 15", Reply("4821", ReplyAction.ETA, minutes=15)),
        ("4821 ETA15", Reply("4821", ReplyAction.ETA, minutes=15)),
        ("4821 Eta 600", Reply("4821", ReplyAction.ETA, minutes=600)),
    ],
)
def test_readable_replies(body: str, expected: Reply) -> None:
    assert parse_reply(body) == expected


@pytest.mark.parametrize(
    ("body", "code", "problem"),
    [
        ("", None, "format"),
        ("yes", None, "format"),
        ("1", None, "format"),
        ("4821", "4821", "format"),
        ("4821 3", "4821", "format"),
        ("4821 ok", "4821", "format"),
        ("4821 ETA", "4821", "format"),
        ("4821 ETA 0", "4821", "eta_range"),
        ("4821 ETA 601", "4821", "eta_range"),
        ("482 1", None, "format"),
    ],
)
def test_unreadable_replies_change_nothing(body: str, code: str | None, problem: str) -> None:
    assert parse_reply(body) == Unreadable(code, problem)


def test_the_throttle_delays_and_never_drops() -> None:
    """At most 4 sends per minute to one number; a fifth waits for the first to age out."""
    t0 = datetime(2026, 11, 23, tzinfo=UTC)
    minute = timedelta(seconds=60)
    booked: list[datetime] = []
    slots = []
    for _ in range(9):
        slot = next_slot(booked, t0, 4, minute)
        booked.append(slot)
        slots.append((slot - t0).total_seconds())
    assert slots == [0, 0, 0, 0, 60, 60, 60, 60, 120]
    # A send booked in the future (an earlier delayed page) is respected too.
    later = [t0 + timedelta(seconds=30)] * 4
    assert next_slot(later, t0, 4, minute) == t0 + timedelta(seconds=90)


async def _paged(desk: DispatchDesk, district: str) -> tuple[int, str, str, str]:
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id=district)
    page = (await desk.store.pages_of(None, [row.id]))[0]
    team = desk.teams.get(page.team_id)
    assert team is not None
    member = team.member(page.member_id)
    assert member is not None and member.phone
    return row.id, row.code, member.phone, page.member_id


async def test_code_1_from_the_paged_phone_accepts(desk: DispatchDesk) -> None:
    dispatch_id, code, phone, member = await _paged(desk, "jinghu")
    answer = await desk.sms_reply(phone, f"{code} 1")
    assert f"接受了调度{code}" in answer and "+865533110003" in answer
    view = await desk.dispatch_view(dispatch_id)
    assert view["state"] == "accepted" and view["accepted"]["member"]["id"] == member
    assert view["accepted"]["via"] == "sms" and view["accepted"]["actor"] == "responder"
    answered = {p["channel"]: p["response"] for p in view["pages"]}
    assert answered == {"sms": "accepted", "voice": None}


async def test_eta_accepts_with_minutes_and_can_be_updated(desk: DispatchDesk) -> None:
    dispatch_id, code, phone, _ = await _paged(desk, "jinghu")
    assert "预计20分钟" in await desk.sms_reply(phone, f"{code} ETA 20")
    assert "预计35分钟" in await desk.sms_reply(phone, f"{code} eta 35")
    view = await desk.dispatch_view(dispatch_id)
    assert view["state"] == "accepted" and view["accepted"]["eta_minutes"] == 35


async def test_decline_with_reason_escalates_now(desk: DispatchDesk) -> None:
    dispatch_id, code, phone, _ = await _paged(desk, "nanling")
    assert "拒绝了调度" in await desk.sms_reply(phone, f"{code} 2 人在外地")
    view = await desk.dispatch_view(dispatch_id)
    assert view["state"] == "paging" and view["step_index"] == 1
    assert view["responses"][0]["reason"] == "人在外地"


async def test_bad_codes_strangers_and_garbage_change_nothing(desk: DispatchDesk) -> None:
    """A wrong code, a number never paged for it, or an unreadable text: a helpful answer only."""
    dispatch_id, code, phone, _ = await _paged(desk, "jinghu")
    wrong = "9999" if code != "9999" else "8888"
    assert "未找到调度编号" in await desk.sms_reply(phone, f"{wrong} 1")
    assert "未找到调度编号" in await desk.sms_reply("+8613012345678", f"{code} 1")
    assert "回复格式" in await desk.sms_reply(phone, "好的收到")
    assert "回复格式" in await desk.sms_reply(phone, f"{code} 3")
    view = await desk.dispatch_view(dispatch_id)
    assert view["state"] == "paging" and view["responses"] == []


async def test_replies_to_a_finished_page_are_told_so(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """Someone else accepted first, or the dispatch was cancelled: nothing changes."""
    dispatch_id, code, phone, _ = await _paged(desk, "jinghu")
    clock.advance(minutes=3)
    await desk.fire_due()  # the secondary is paged too
    pages = await desk.store.pages_of(None, [dispatch_id])
    secondary = next(p for p in pages if p.step_index == 1)
    team = desk.teams.get(secondary.team_id)
    assert team is not None
    second_phone = team.member(secondary.member_id).phone  # type: ignore[union-attr]
    assert second_phone
    await desk.sms_reply(second_phone, f"{code} 1")
    assert "已结束或已由他人接受" in await desk.sms_reply(phone, f"{code} 1")
    view = await desk.dispatch_view(dispatch_id)
    assert view["accepted"]["member"]["id"] == secondary.member_id
    other_id, other_code, other_phone, _ = await _paged(desk, "wuwei")
    await desk.cancel(other_id, "user:1", "误报")
    assert "已结束" in await desk.sms_reply(other_phone, f"{other_code} 1")
    assert (await desk.dispatch_view(other_id))["state"] == "cancelled"
