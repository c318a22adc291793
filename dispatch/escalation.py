"""Escalation: run a dispatch's frozen policy step by step on durable timers.

A step resolves its targets against the rosters at the moment it runs (who is primary now,
not when the dispatch began), creates its pages, and books the next step on a timer, all in
one transaction. The timer loop claims due timers in batches inside the transaction that runs
their steps, so 1,000 dispatches escalating at once cost a few transactions, not 1,000, and a
crash before the commit leaves the timers unclaimed for the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.config import DispatchConfig
from dispatch.lifecycle import DispatchState
from dispatch.policies import Policy, Target
from dispatch.rosters import on_call
from dispatch.store import DispatchRow, DispatchStore
from dispatch.teams import Team
from dispatch.throttle import next_slot
from hotline.clock import to_iso
from hotline.store import timers
from hotline.store.database import Transaction

TIMER_KIND = "dispatch.escalation"
TIMER_BATCH = 500


@dataclass(frozen=True)
class Recipient:
    """One person a step pages."""

    team: Team
    member_id: str


class Escalator:
    """Runs steps; knows the teams, the rosters and the throttle."""

    def __init__(self, store: DispatchStore, dispatch_config: DispatchConfig) -> None:
        self._store = store
        self._config = dispatch_config

    def recipients(self, team: Team, targets: tuple[Target, ...], at: datetime) -> list[Recipient]:
        """Who a step's targets are at an instant, without duplicates, in target order."""
        found: list[Recipient] = []
        now_on_call = on_call(team.roster, at)
        for target in targets:
            if target is Target.PRIMARY and now_on_call.primary:
                found.append(Recipient(team, now_on_call.primary))
            elif target is Target.SECONDARY and now_on_call.secondary:
                found.append(Recipient(team, now_on_call.secondary))
            elif target is Target.LEAD:
                found.extend(Recipient(team, lead.id) for lead in team.leads)
            elif target is Target.CITY:
                city = self._config.teams.city
                primary = on_call(city.roster, at).primary
                if primary:
                    found.append(Recipient(city, primary))
        unique: dict[tuple[str, str], Recipient] = {}
        for recipient in found:
            unique.setdefault((recipient.team.id, recipient.member_id), recipient)
        return list(unique.values())

    async def run_step(self, tx: Transaction, dispatch: DispatchRow, index: int) -> int:
        """Run step `index` of one dispatch; returns the pages made."""
        return await self.run_steps(tx, [(dispatch, index)])

    async def run_steps(self, tx: Transaction, due: list[tuple[DispatchRow, int]]) -> int:
        """Run a step of each of many dispatches in one transaction; returns the pages made.

        A step whose targets resolve to nobody (a roster gap, everyone declined) is skipped
        at once rather than waited out. Past the last step a dispatch is marked exhausted and
        alarmed on the board: the escalation has stopped, and a coordinator must act. The
        reads and writes are batched (a few statements per batch, not per dispatch), which is
        what keeps a thousand simultaneous escalations on time.
        """
        if not due:
            return 0
        now = tx.clock.now()
        window = timedelta(seconds=self._config.paging.window_seconds)
        limit = self._config.paging.max_per_recipient
        hashes = await self._store.phone_hashes(tx)
        declined = await self._store.declined_by_dispatch(tx, [d.id for d, _ in due])
        booked = await self._store.booked_slots(tx, now - window)
        pages: list[dict[str, object]] = []
        updates: list[dict[str, object]] = []
        events: list[tuple[str, str, str, dict[str, object]]] = []
        schedule: list[tuple[str, datetime, int]] = []
        for dispatch, first in due:
            policy = Policy.from_json(dispatch.policy)
            team = self._config.teams.get(dispatch.team_id) or self._config.teams.city
            subject = f"dispatch:{dispatch.id}"
            refused = declined.get(dispatch.id, set())
            index = first
            recipients: list[Recipient] = []
            while index < policy.total_steps:
                step = policy.step(index)
                recipients = [
                    r
                    for r in self.recipients(team, step.targets, now)
                    if (r.team.id, r.member_id) not in refused
                ]
                if recipients:
                    break
                events.append(
                    (
                        "dispatch.step_skipped",
                        subject,
                        "system",
                        {"step": index, "reason": "nobody_to_page"},
                    )
                )
                index += 1
            if not recipients:
                updates.append(
                    {
                        "id": dispatch.id,
                        "state": DispatchState.PAGING,
                        "step_index": policy.total_steps - 1,
                        "next_step_at": None,
                        "exhausted": True,
                        "alarm": True,
                    }
                )
                events.append(
                    ("dispatch.exhausted", subject, "system", {"steps": policy.total_steps})
                )
                continue
            step = policy.step(index)
            for recipient in recipients:
                recipient_hash = hashes.get((recipient.team.id, recipient.member_id))
                for channel in step.channels:
                    send_after = now
                    if recipient_hash:
                        slots = booked.setdefault(recipient_hash, [])
                        send_after = next_slot(slots, now, limit, window)
                        slots.append(send_after)
                    pages.append(
                        {
                            "dispatch_id": dispatch.id,
                            "step_index": index,
                            "team_id": recipient.team.id,
                            "member_id": recipient.member_id,
                            "recipient_hash": recipient_hash,
                            "channel": channel.value,
                            "send_after": send_after,
                        }
                    )
            next_at = now + timedelta(seconds=step.wait_seconds)
            updates.append(
                {
                    "id": dispatch.id,
                    "state": DispatchState.PAGING,
                    "step_index": index,
                    "next_step_at": next_at,
                    "exhausted": False,
                    "alarm": dispatch.alarm or step.alarm,
                }
            )
            schedule.append((subject, next_at, index + 1))
            events.append(
                (
                    "dispatch.paging",
                    subject,
                    "system",
                    {
                        "step": index,
                        "round": policy.round_of(index),
                        "targets": [t.value for t in step.targets],
                        "channels": [c.value for c in step.channels],
                        "recipients": [
                            {"team": r.team.id, "member": r.member_id} for r in recipients
                        ],
                        "next_step_at": to_iso(next_at),
                        "alarm": step.alarm,
                    },
                )
            )
            if step.alarm and not dispatch.alarm:
                events.append(("dispatch.alarm", subject, "system", {"step": index}))
        await self._store.insert_pages(tx, pages)
        await self._store.update_many(tx, updates)
        await timers.schedule_many(tx, TIMER_KIND, schedule)
        await tx.append_events(events)
        return len(pages)

    async def fire_due(self, tx: Transaction) -> int:
        """Run every escalation step that is due (one batch); returns how many timers fired."""
        claimed = await timers.claim_due(tx, TIMER_KIND, tx.clock.now(), TIMER_BATCH)
        if not claimed:
            return 0
        ids = [int(t.subject.split(":", 1)[1]) for t in claimed]
        dispatches = await self._store.many(tx, ids)
        due: list[tuple[DispatchRow, int]] = []
        for timer, dispatch_id in zip(claimed, ids, strict=True):
            dispatch = dispatches.get(dispatch_id)
            step = int(timer.data.get("step", -1))
            # A timer outlived by events (accepted, cancelled, a decline that advanced the
            # step) does nothing: the dispatch's own step index is the truth.
            if (
                dispatch is None
                or not dispatch.state.awaiting_acceptance
                or dispatch.exhausted
                or dispatch.step_index != step - 1
            ):
                continue
            due.append((dispatch, step))
        await self.run_steps(tx, due)
        return len(claimed)
