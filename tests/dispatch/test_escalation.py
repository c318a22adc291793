"""Escalation on an injected clock: steps on time, stopped only by a person, and durable."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from dispatch.desk import DispatchDesk
from dispatch.lifecycle import DispatchState
from dispatch.policies import Policy
from dispatch.rosters import Override, Position, on_call
from dispatch.store import PageRow
from hotline.clock import ManualClock
from hotline.errors import Conflict, InvalidInput
from hotline.risk import RiskLevel
from tests.dispatch.conftest import DeskFactory


async def pages(desk: DispatchDesk, dispatch_id: int) -> list[PageRow]:
    return await desk.store.pages_of(None, [dispatch_id])


def paged(rows: list[PageRow], step: int) -> set[tuple[str, str, str]]:
    return {(p.team_id, p.member_id, p.channel) for p in rows if p.step_index == step}


async def test_a_request_pages_the_district_primary_by_sms_and_voice_at_once(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """The first step goes out in the request's own commit; the next is booked 3 minutes on."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu")
    team = desk.teams.get("jinghu")
    assert team is not None
    primary = on_call(team.roster, clock.now()).primary
    assert row.state is DispatchState.PAGING and row.team_id == "jinghu"
    assert row.step_index == 0 and len(row.code) == 4 and row.code.isdigit()
    assert row.next_step_at == clock.now() + timedelta(minutes=3)
    assert paged(await pages(desk, row.id), 0) == {
        ("jinghu", str(primary), "sms"),
        ("jinghu", str(primary), "voice"),
    }
    kinds = [e.kind for e in await desk.db.events_for(f"dispatch:{row.id}")]
    assert kinds == ["dispatch.requested", "dispatch.paging"]


async def test_unanswered_pages_escalate_step_by_step_on_time_then_stop_exhausted(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """Primary, secondary, lead, the city's on-call with an alarm; repeated once; then alarmed."""
    row = await desk.request(actor="user:1", risk=RiskLevel.IMMINENT, district_id="yijiang")
    team = desk.teams.get("yijiang")
    city = desk.teams.city
    assert team is not None
    clock.advance(minutes=2, seconds=59)
    assert await desk.fire_due() == 0
    clock.advance(seconds=1)
    assert await desk.fire_due() == 1
    now = on_call(team.roster, clock.now())
    assert {m for _, m, _ in paged(await pages(desk, row.id), 1)} == {now.secondary}
    clock.advance(minutes=3)
    await desk.fire_due()
    assert {m for _, m, _ in paged(await pages(desk, row.id), 2)} == {m.id for m in team.leads}
    view = await desk.dispatch_view(row.id)
    assert view["alarm"] is False
    clock.advance(minutes=3)
    await desk.fire_due()
    city_primary = on_call(city.roster, clock.now()).primary
    assert paged(await pages(desk, row.id), 3) == {
        ("city", str(city_primary), "sms"),
        ("city", str(city_primary), "voice"),
    }
    view = await desk.dispatch_view(row.id)
    assert view["alarm"] is True and view["exhausted"] is False
    # The second round (repeat = 1) starts again with the primary after the city step's 5 min.
    clock.advance(minutes=5)
    await desk.fire_due()
    assert {m for _, m, _ in paged(await pages(desk, row.id), 4)} == {
        on_call(team.roster, clock.now()).primary
    }
    for wait in (3, 3, 3, 5):
        clock.advance(minutes=wait)
        await desk.fire_due()
    view = await desk.dispatch_view(row.id)
    assert view["exhausted"] is True and view["next_step_at"] is None
    assert view["state"] == "paging" and view["total_steps"] == 8
    clock.advance(hours=1)
    assert await desk.fire_due() == 0
    assert max(p.step_index for p in await pages(desk, row.id)) == 7


async def test_an_acceptance_stops_the_escalation_and_unsent_pages(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """Only a person's acceptance stops it; after it, no timer fires and no page goes out."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu")
    first = (await pages(desk, row.id))[0]
    await desk.acknowledge(row.id, "user:7", first.team_id, first.member_id, eta_minutes=20)
    clock.advance(minutes=30)
    assert await desk.fire_due() == 0
    rows = await pages(desk, row.id)
    assert {p.step_index for p in rows} == {0}
    assert all(p.state == "cancelled" for p in rows)  # never sent: telephony is off here
    view = await desk.dispatch_view(row.id)
    assert view["state"] == "accepted" and view["next_step_at"] is None
    assert view["accepted"]["member"]["id"] == first.member_id
    assert view["accepted"]["eta_minutes"] == 20
    accepted = [e for e in view["timeline"] if e["kind"] == "dispatch.accepted"]
    assert accepted[0]["actor"] == "user:7" and accepted[0]["data"]["on_behalf"] is True


async def test_a_restart_mid_escalation_neither_loses_nor_repeats_a_step(
    desks: DeskFactory, clock: ManualClock
) -> None:
    """The timer is a row: a new process fires it once, and the old step is not paged again."""
    desk = await desks()
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="sanshan")
    await desks.close()  # the process dies between steps

    clock.advance(minutes=3, seconds=20)
    restarted = await desks()
    assert await restarted.fire_due() == 1
    assert await restarted.fire_due() == 0
    rows = await pages(restarted, row.id)
    assert sorted({p.step_index for p in rows}) == [0, 1]
    assert len([p for p in rows if p.step_index == 0]) == 2  # primary's sms + voice, once
    assert len([p for p in rows if p.step_index == 1]) == 2


async def test_a_crash_inside_a_step_rolls_back_and_the_step_runs_once_later(
    desk: DispatchDesk, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the timer was claimed leaves it unclaimed: claim and step are one commit."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="nanling")
    clock.advance(minutes=3)
    real = desk.escalator.run_steps

    async def crash(*args: object, **kwargs: object) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(desk.escalator, "run_steps", crash)
    with pytest.raises(RuntimeError):
        await desk.fire_due()
    monkeypatch.setattr(desk.escalator, "run_steps", real)
    assert await desk.fire_due() == 1
    assert sorted({p.step_index for p in await pages(desk, row.id)}) == [0, 1]


async def test_when_everyone_paged_declines_the_next_step_runs_at_once(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """A decline is an answer: nobody waits three minutes for a 'no'."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="fanchang")
    first = (await pages(desk, row.id))[0]
    async with desk.db.transaction() as tx:
        current = await desk.store.get(tx, row.id)
        assert current is not None
        await desk._decline(
            tx,
            current,
            first.team_id,
            first.member_id,
            via="sms",
            actor="responder",
            page_id=first.id,
            reason="在外地",
        )
    view = await desk.dispatch_view(row.id)
    assert view["step_index"] == 1
    assert view["responses"][0]["reason"] == "在外地"
    raw = await desk.db.fetchall("SELECT reason_enc FROM page_responses")
    assert "在外地".encode() not in bytes(raw[0]["reason_enc"])


async def test_a_roster_gap_skips_to_the_next_step_without_waiting(
    desk: DispatchDesk, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody primary (an override of nobody): the secondary is paged in the same commit."""
    team = desk.teams.get("wuwei")
    assert team is not None
    hole = Override(
        Position.PRIMARY, clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1), None
    )
    patched = type(team.roster)(
        team.roster.time_zone, team.roster.primary, team.roster.secondary, (hole,)
    )
    teams = desk.dispatch_config.teams
    new_teams = type(teams)(
        tuple(replace(t, roster=patched) if t.id == "wuwei" else t for t in teams)
    )
    monkeypatch.setattr(desk.escalator, "_config", replace(desk.dispatch_config, teams=new_teams))
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="wuwei")
    view = await desk.dispatch_view(row.id)
    assert view["step_index"] == 1
    assert [e["kind"] for e in view["timeline"]][:3] == [
        "dispatch.requested",
        "dispatch.step_skipped",
        "dispatch.paging",
    ]


async def test_the_policy_is_frozen_when_the_dispatch_starts(
    desk: DispatchDesk, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Editing the policy later does not change a running escalation."""
    await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="jiujiang")
    original = desk.dispatch_config.policies["district"]
    faster = Policy("district", tuple(replace(s, wait_seconds=10) for s in original.steps), 0)
    edited = replace(
        desk.dispatch_config, policies={**desk.dispatch_config.policies, "district": faster}
    )
    monkeypatch.setattr(desk, "dispatch_config", edited)
    monkeypatch.setattr(desk.escalator, "_config", edited)
    clock.advance(seconds=30)
    assert await desk.fire_due() == 0  # still the 3 minutes copied at the start
    clock.advance(minutes=3)
    assert await desk.fire_due() == 1


async def test_lifecycle_moves_are_checked_and_each_is_an_event(
    desk: DispatchDesk, clock: ManualClock
) -> None:
    """requested → paging → accepted → en route → on scene → resolved, each with its actor."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu")
    with pytest.raises(Conflict):
        await desk.resolve(row.id, "user:1", "person_safe")
    with pytest.raises(Conflict):
        await desk.set_state(row.id, "user:1", DispatchState.ON_SCENE)
    first = (await pages(desk, row.id))[0]
    await desk.acknowledge(row.id, "user:1", first.team_id, first.member_id, None)
    await desk.set_state(row.id, "user:2", DispatchState.EN_ROUTE)
    await desk.set_state(row.id, "user:2", DispatchState.ON_SCENE)
    with pytest.raises(InvalidInput):
        await desk.resolve(row.id, "user:3", "teleported")
    await desk.resolve(row.id, "user:3", "person_safe")
    with pytest.raises(Conflict):
        await desk.cancel(row.id, "user:3", "too late")
    view = await desk.dispatch_view(row.id)
    assert view["state"] == "resolved" and view["outcome"] == "person_safe"
    assert [(e["kind"], e["actor"]) for e in view["timeline"]][-4:] == [
        ("dispatch.accepted", "user:1"),
        ("dispatch.en_route", "user:2"),
        ("dispatch.on_scene", "user:2"),
        ("dispatch.resolved", "user:3"),
    ]


async def test_a_cancelled_dispatch_pages_no_more(desk: DispatchDesk, clock: ManualClock) -> None:
    """Cancelling needs a reason and retires the timer."""
    row = await desk.request(actor="user:1", risk=RiskLevel.MODERATE, district_id="jinghu")
    with pytest.raises(InvalidInput):
        await desk.cancel(row.id, "user:1", "  ")
    await desk.cancel(row.id, "user:1", "误报")
    clock.advance(minutes=10)
    assert await desk.fire_due() == 0
    view = await desk.dispatch_view(row.id)
    assert view["state"] == "cancelled" and view["closed_at"] is not None


async def test_bad_requests_are_refused_with_the_field_named(desk: DispatchDesk) -> None:
    """An unknown district or team, or an over-long summary, changes nothing."""
    for kwargs, field in (
        ({"district_id": "atlantis"}, "district_id"),
        ({"team_id": "navy"}, "team_id"),
        ({"district_id": "jinghu", "summary": "长" * 501}, "summary"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await desk.request(actor="user:1", risk=RiskLevel.HIGH, **kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
    assert await desk.db.fetchval("SELECT COUNT(*) FROM dispatches") == 0


async def test_no_district_goes_to_the_city_team(desk: DispatchDesk) -> None:
    """City-level work (or an unknown place) is the city team's."""
    row = await desk.request(actor="user:1", risk=RiskLevel.HIGH)
    assert row.team_id == "city" and row.district_id is None


async def test_numbers_and_summaries_are_sealed_at_rest(desks: DeskFactory) -> None:
    """Responders' phones and the coordinator's summary never sit in the files in clear."""
    desk = await desks()
    await desk.request(
        actor="user:1", risk=RiskLevel.HIGH, district_id="jinghu", summary="独居老人，情绪激动"
    )
    stored = b"".join(path.read_bytes() for path in desks.path.parent.iterdir() if path.is_file())
    phones = [m.phone for t in desk.teams for m in t.members if m.phone]
    assert len(phones) == 48  # 42 responders and 6 reserve counsellors
    for phone in phones:
        assert phone.encode() not in stored
    assert "独居老人".encode() not in stored
    assert await desk.db.fetchval("SELECT COUNT(*) FROM responders") == 48
