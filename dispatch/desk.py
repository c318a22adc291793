"""The dispatch desk: what coordinators, counsellors and responders do to dispatches.

Every change is one write transaction that checks the dispatch's state, records an event
with its actor, and (for acceptance) retires the escalation's timer and unsent pages in the
same commit, so "accepted" and "still paging" can never both be true. Responders reach the
desk by SMS reply, keypress or link; coordinators by the board; the hotline's wait alarms by
`page_supervisor_for_wait`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from dispatch.config import DispatchConfig
from dispatch.escalation import TIMER_KIND, Escalator
from dispatch.lifecycle import DispatchState, check_transition
from dispatch.links import verify_token
from dispatch.paging import PageGateway, Pager
from dispatch.policies import PageChannel, Policy
from dispatch.replies import Reply, ReplyAction, Unreadable, parse_reply
from dispatch.rosters import gaps, on_call
from dispatch.store import DispatchRow, DispatchStore, PageRow
from dispatch.teams import SUPERVISORS_TEAM_ID, Team, Teams
from hotline import audit
from hotline.clock import Clock, from_iso
from hotline.config import Config
from hotline.crypto import FieldCipher
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.risk import RiskLevel
from hotline.store import timers
from hotline.store.database import Database, Transaction

log = structlog.get_logger(__name__)

MAX_SUMMARY_CHARS = 500
MAX_REASON_CHARS = 200
CODE_QUARANTINE = timedelta(days=30)
BOARD_CLOSED_HOURS = 24
GAP_DAYS = 14
WAIT_ALARM_LEVELS = (RiskLevel.HIGH, RiskLevel.IMMINENT)

CallerNumber = Callable[[int], Awaitable[str | None]]
# Reads a reply that matched no dispatch page (an incident's call-in); None: not one either.
ReplyHook = Callable[[Transaction, Reply, str], Awaitable[str | None]]


class DispatchDesk:
    """The dispatch service for one process."""

    def __init__(
        self,
        db: Database,
        cipher: FieldCipher,
        config: Config,
        dispatch_config: DispatchConfig,
        gateway: PageGateway | None,
        caller_number: CallerNumber | None = None,
    ) -> None:
        self.db = db
        self.clock: Clock = db.clock
        self.config = config
        self.dispatch_config = dispatch_config
        self.store = DispatchStore(db, cipher)
        self.escalator = Escalator(self.store, dispatch_config)
        self.pager = Pager(self.store, config, dispatch_config, cipher, db.clock, gateway)
        self._cipher = cipher
        self._caller_number = caller_number
        self.other_replies: ReplyHook | None = None

    @property
    def teams(self) -> Teams:
        """The configured teams."""
        return self.dispatch_config.teams

    async def start(self) -> None:
        """Seal the configured numbers into the store and recover pages caught mid-send."""
        await self.store.sync_responders(self.dispatch_config.teams)
        requeued = await self.store.requeue_sending()
        if requeued:
            log.warning("pages_requeued_after_restart", count=requeued)

    # -- requests ------------------------------------------------------------------------

    async def request(
        self,
        *,
        actor: str,
        risk: RiskLevel,
        summary: str = "",
        team_id: str | None = None,
        district_id: str | None = None,
        contact_id: int | None = None,
    ) -> DispatchRow:
        """A coordinator's (or counsellor's) dispatch: the first step's pages go out at once."""
        async with self.db.transaction() as tx:
            dispatch_id = await self.request_in(
                tx,
                actor=actor,
                risk=risk,
                summary=summary,
                team_id=team_id,
                district_id=district_id,
                contact_id=contact_id,
            )
            row = await self.store.get(tx, dispatch_id)
        self.pager.wake()
        assert row is not None
        return row

    async def request_in(
        self,
        tx: Transaction,
        *,
        actor: str,
        risk: RiskLevel,
        summary: str = "",
        team_id: str | None = None,
        district_id: str | None = None,
        contact_id: int | None = None,
        kind: str = "crisis",
    ) -> int:
        """A dispatch inside the caller's transaction (so a wait alarm and its page are one)."""
        summary = " ".join(summary.split())
        if len(summary) > MAX_SUMMARY_CHARS:
            raise InvalidInput(
                f"the summary is limited to {MAX_SUMMARY_CHARS} characters",
                code="too_long",
                field="summary",
            )
        if district_id is not None and self.config.district(district_id) is None:
            raise InvalidInput(f"unknown district {district_id!r}", field="district_id")
        if team_id is not None:
            team = self.dispatch_config.teams.get(team_id)
            if team is None:
                raise InvalidInput(f"unknown team {team_id!r}", field="team_id")
        else:
            team = self.dispatch_config.teams.for_district(district_id)
        if district_id is None:
            district_id = team.district_id
        if contact_id is not None:
            exists = await tx.fetchval("SELECT 1 FROM contacts WHERE id = ?", (contact_id,))
            if not exists:
                raise NotFound(f"no contact {contact_id}")
        code = await self.new_code(tx)
        policy = self.dispatch_config.policy_for(team)
        dispatch_id = await self.store.insert(
            tx,
            code=code,
            kind=kind,
            team_id=team.id,
            district_id=district_id,
            risk=risk,
            summary=summary,
            contact_id=contact_id,
            policy=policy.to_json(),
            requested_by=actor,
        )
        await tx.append_event(
            "dispatch.requested",
            f"dispatch:{dispatch_id}",
            actor,
            {
                "code": code,
                "kind": kind,
                "team": team.id,
                "district": district_id,
                "risk": risk.value,
                "contact_id": contact_id,
                "policy": policy.id,
            },
        )
        row = await self.store.get(tx, dispatch_id)
        assert row is not None
        await self.escalator.run_step(tx, row, 0)
        return dispatch_id

    async def new_code(self, tx: Transaction) -> str:
        """A 4-digit reply code not used by an open dispatch nor by any in the last 30 days."""
        taken = await self.store.codes_in_use(tx, tx.clock.now() - CODE_QUARANTINE)
        for digits in (4, 4, 4, 5, 6):
            for _ in range(20):
                code = f"{secrets.randbelow(10**digits):0{digits}d}"
                if code not in taken and not code.startswith("0"):
                    return code
        raise Conflict("no free reply code", code="no_code")

    async def page_supervisor_for_wait(
        self, tx: Transaction, contact_id: int, risk: RiskLevel, district_id: str | None
    ) -> int | None:
        """A high-risk wait alarm pages the on-duty supervisor (once per open alarm)."""
        if risk not in WAIT_ALARM_LEVELS:
            return None
        if await self.store.open_for_contact(tx, contact_id, "wait_alarm") is not None:
            return None
        return await self.request_in(
            tx,
            actor="system",
            risk=risk,
            team_id=SUPERVISORS_TEAM_ID,
            district_id=district_id,
            contact_id=contact_id,
            kind="wait_alarm",
        )

    # -- the escalation's clock ----------------------------------------------------------

    async def fire_due(self) -> int:
        """Run every escalation step that is due now; returns how many timers fired."""
        fired = 0
        while True:
            async with self.db.transaction() as tx:
                batch = await self.escalator.fire_due(tx)
            fired += batch
            if batch:
                self.pager.wake()
            if batch == 0:
                return fired

    async def next_timer_due(self) -> datetime | None:
        """When the next escalation step is due."""
        return await timers.next_due(self.db, TIMER_KIND)

    # -- answers -------------------------------------------------------------------------

    async def _accept(
        self,
        tx: Transaction,
        dispatch: DispatchRow,
        team_id: str,
        member_id: str,
        *,
        via: str,
        actor: str,
        page_id: int | None = None,
        eta_minutes: int | None = None,
    ) -> None:
        check_transition(dispatch.state, DispatchState.ACCEPTED)
        now = tx.clock.now()
        subject = f"dispatch:{dispatch.id}"
        await self.store.update(
            tx,
            dispatch.id,
            state=DispatchState.ACCEPTED,
            accepted_team=team_id,
            accepted_member=member_id,
            accepted_at=now,
            accepted_via=via,
            accepted_actor=actor,
            eta_minutes=eta_minutes,
            next_step_at=None,
        )
        await timers.cancel(tx, TIMER_KIND, subject)
        await self.store.cancel_pending_pages(tx, dispatch.id)
        await self._answer(
            tx,
            dispatch,
            team_id,
            member_id,
            "accepted",
            via,
            actor,
            page_id,
            eta_minutes=eta_minutes,
        )
        data: dict[str, Any] = {
            "team": team_id,
            "member": member_id,
            "via": via,
            "eta_minutes": eta_minutes,
        }
        if actor != "responder":
            data["on_behalf"] = True
            await audit.record(
                tx,
                actor=actor,
                action="dispatch.acknowledged_on_behalf",
                subject=subject,
                purpose=via,
                data={"team": team_id, "member": member_id},
            )
        await tx.append_event("dispatch.accepted", subject, actor, data)

    async def _answer(
        self,
        tx: Transaction,
        dispatch: DispatchRow,
        team_id: str,
        member_id: str,
        response: str,
        via: str,
        actor: str,
        page_id: int | None,
        *,
        eta_minutes: int | None = None,
        reason: str | None = None,
    ) -> None:
        """File an answer, and mark the page it answered."""
        await self.store.add_response(
            tx,
            dispatch_id=dispatch.id,
            page_id=page_id,
            team_id=team_id,
            member_id=member_id,
            response=response,
            via=via,
            actor=actor,
            eta_minutes=eta_minutes,
            reason=reason,
        )
        if page_id is not None:
            await self.store.update_page(
                tx, page_id, response=response, responded_at=tx.clock.now()
            )

    async def _new_eta(
        self, tx: Transaction, dispatch: DispatchRow, page: PageRow, minutes: int | None
    ) -> None:
        """The responder who accepted gives a (new) arrival time."""
        await self.store.update(tx, dispatch.id, eta_minutes=minutes)
        await tx.append_event(
            "dispatch.eta",
            f"dispatch:{dispatch.id}",
            "responder",
            {"team": page.team_id, "member": page.member_id, "eta_minutes": minutes},
        )

    async def _decline(
        self,
        tx: Transaction,
        dispatch: DispatchRow,
        team_id: str,
        member_id: str,
        *,
        via: str,
        actor: str,
        page_id: int | None,
        reason: str | None,
    ) -> None:
        """Record a decline; when everyone paged at this step has declined, escalate now."""
        await self._answer(
            tx, dispatch, team_id, member_id, "declined", via, actor, page_id, reason=reason
        )
        subject = f"dispatch:{dispatch.id}"
        await tx.append_event(
            "dispatch.declined",
            subject,
            actor,
            {"team": team_id, "member": member_id, "via": via, "reason_given": bool(reason)},
        )
        if not dispatch.state.awaiting_acceptance or dispatch.exhausted:
            return
        paged = {
            (p.team_id, p.member_id)
            for p in await self.store.pages_of(tx, [dispatch.id])
            if p.step_index == dispatch.step_index
        }
        declined = (await self.store.declined_by_dispatch(tx, [dispatch.id])).get(
            dispatch.id, set()
        )
        if paged and paged <= declined:
            await timers.cancel(tx, TIMER_KIND, subject)
            await self.escalator.run_step(tx, dispatch, dispatch.step_index + 1)

    async def sms_reply(self, from_number: str, body: str) -> str:
        """A responder's text to the paging number; returns the reply to send back."""
        texts = self.dispatch_config.paging.texts
        parsed = parse_reply(body)
        if isinstance(parsed, Unreadable):
            log.info("page_reply_unreadable", problem=parsed.problem)
            return texts["reply_help"]
        sender = self._cipher.keyed_hash(from_number)
        async with self.db.transaction() as tx:
            answer = await self._apply_reply(tx, parsed, sender)
        self.pager.wake()
        return answer

    async def _apply_reply(self, tx: Transaction, reply: Reply, sender: str) -> str:
        texts = self.dispatch_config.paging.texts
        dispatch = await self.store.latest_by_code(tx, reply.code)
        pages = [] if dispatch is None else await self.store.pages_of(tx, [dispatch.id])
        mine = [p for p in pages if p.recipient_hash == sender]
        if dispatch is None or not mine:
            # Not a dispatch's page: perhaps an incident's call-in, read the same way.
            if self.other_replies is not None:
                answer = await self.other_replies(tx, reply, sender)
                if answer is not None:
                    return answer
            # Unknown code, or a code this number was never paged for: say nothing more.
            log.info("page_reply_unmatched")
            return texts["reply_unknown_code"].format(code=reply.code)
        # The reply answers the text this number was sent (a call's page has its own answer).
        page = ([p for p in mine if p.channel == PageChannel.SMS.value] or mine)[-1]
        outcome = await self._respond(
            tx, dispatch, page, reply.action, "sms", reason=reply.reason, minutes=reply.minutes
        )
        fmt = {"code": dispatch.code, "callback": self.dispatch_config.paging.coordinator_number}
        if outcome == "accepted" and reply.action is ReplyAction.ETA:
            outcome = "eta"
        return texts[f"reply_{outcome}"].format(minutes=reply.minutes, **fmt)

    async def _respond(
        self,
        tx: Transaction,
        dispatch: DispatchRow,
        page: PageRow,
        action: ReplyAction,
        via: str,
        *,
        reason: str | None = None,
        minutes: int | None = None,
    ) -> str:
        """A paged person's answer, however it came: "accepted", "declined", "eta" (a new
        arrival time from the one who accepted) or "finished" (nothing left to answer)."""
        mine = (dispatch.accepted_team, dispatch.accepted_member) == (page.team_id, page.member_id)
        if action is ReplyAction.ETA and mine and not dispatch.state.closed:
            await self._new_eta(tx, dispatch, page, minutes)
            return "eta"
        if not dispatch.state.awaiting_acceptance:
            return "finished"
        if action is ReplyAction.DECLINE:
            await self._decline(
                tx,
                dispatch,
                page.team_id,
                page.member_id,
                via=via,
                actor="responder",
                page_id=page.id,
                reason=reason,
            )
            return "declined"
        await self._accept(
            tx,
            dispatch,
            page.team_id,
            page.member_id,
            via=via,
            actor="responder",
            page_id=page.id,
            eta_minutes=minutes,
        )
        return "accepted"

    async def voice_answered(self, page_id: int, answered_by: str | None) -> PageRow | None:
        """A paging call was picked up. A machine is recorded and hung up on (no voicemail:
        a recorded page would leave the dispatch on a device anyone may hear); returns the
        page when a person should hear the prompt, None otherwise."""
        async with self.db.transaction() as tx:
            page = await self.store.page(tx, page_id)
            if page is None or page.channel != PageChannel.VOICE.value:
                return None
            dispatch = await self.store.get(tx, page.dispatch_id)
            assert dispatch is not None
            if answered_by and answered_by.startswith(("machine", "fax")):
                await self.store.update_page(
                    tx, page.id, response="machine", responded_at=tx.clock.now()
                )
                await tx.append_event(
                    "dispatch.page_machine",
                    f"dispatch:{dispatch.id}",
                    "system",
                    {"page": page.id, "team": page.team_id, "member": page.member_id},
                )
                return None
            if not dispatch.state.awaiting_acceptance:
                return None
            return page

    async def voice_keypress(self, page_id: int, digits: str) -> str:
        """A keypress on a paging call: "accepted", "declined", "finished" or "no_input"."""
        async with self.db.transaction() as tx:
            page = await self.store.page(tx, page_id)
            if page is None or page.channel != PageChannel.VOICE.value:
                return "finished"
            dispatch = await self.store.get(tx, page.dispatch_id)
            assert dispatch is not None
            if digits not in ("1", "2"):
                await self.store.update_page(
                    tx, page.id, response="no_input", responded_at=tx.clock.now()
                )
                return "no_input"
            action = ReplyAction.ACCEPT if digits == "1" else ReplyAction.DECLINE
            outcome = await self._respond(tx, dispatch, page, action, "voice")
        self.pager.wake()
        return outcome

    async def link_page(self, token: str) -> tuple[PageRow, DispatchRow] | None:
        """The page and dispatch behind a signed link (None: forged, expired or unknown)."""
        page_id = verify_token(self._cipher, token, self.clock.now())
        if page_id is None:
            return None
        page = await self.store.page(None, page_id)
        if page is None:
            return None
        dispatch = await self.store.get(None, page.dispatch_id)
        assert dispatch is not None
        return page, dispatch

    async def link_respond(
        self,
        token: str,
        action: ReplyAction,
        *,
        reason: str | None = None,
        minutes: int | None = None,
    ) -> str:
        """A click on a page's link: returns "accepted", "declined", "eta" or "finished"."""
        found = await self.link_page(token)
        if found is None:
            raise NotFound("this link is not valid or has expired")
        page, _ = found
        if minutes is not None and not 0 < minutes <= 600:
            raise InvalidInput("minutes must be between 1 and 600", field="minutes")
        async with self.db.transaction() as tx:
            dispatch = await self.store.get(tx, page.dispatch_id)
            assert dispatch is not None
            result = await self._respond(
                tx,
                dispatch,
                page,
                action,
                "link",
                reason=(reason or "").strip()[:MAX_REASON_CHARS] or None,
                minutes=minutes,
            )
        self.pager.wake()
        return result

    async def delivery(self, page_id: int, status: str, answered_by: str | None = None) -> bool:
        """A provider's status callback for a page; False for an unknown page."""
        async with self.db.transaction() as tx:
            page = await self.store.page(tx, page_id)
            if page is None:
                return False
            await self.store.update_page(tx, page.id, delivery=status)
            data: dict[str, Any] = {"page": page.id, "channel": page.channel, "status": status}
            if answered_by:
                data["answered_by"] = answered_by
            await tx.append_event(
                "dispatch.page_delivery", f"dispatch:{page.dispatch_id}", "provider", data
            )
        return True

    # -- the coordinator's actions -------------------------------------------------------

    async def _locked(self, tx: Transaction, dispatch_id: int) -> DispatchRow:
        dispatch = await self.store.get(tx, dispatch_id)
        if dispatch is None:
            raise NotFound(f"no dispatch {dispatch_id}")
        return dispatch

    def _member(self, team_id: str, member_id: str) -> Team:
        team = self.dispatch_config.teams.get(team_id)
        if team is None:
            raise InvalidInput(f"unknown team {team_id!r}", field="team_id")
        if team.member(member_id) is None:
            raise InvalidInput(f"{member_id!r} is not a member of {team_id}", field="member_id")
        return team

    async def acknowledge(
        self, dispatch_id: int, actor: str, team_id: str, member_id: str, eta_minutes: int | None
    ) -> None:
        """A coordinator records a responder's acceptance heard by phone (audited)."""
        self._member(team_id, member_id)
        if eta_minutes is not None and not 0 < eta_minutes <= 600:
            raise InvalidInput("minutes must be between 1 and 600", field="eta_minutes")
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
            await self._accept(
                tx, dispatch, team_id, member_id, via="board", actor=actor, eta_minutes=eta_minutes
            )

    async def cancel(self, dispatch_id: int, actor: str, reason: str) -> None:
        """Stop a dispatch: no more pages, no more steps."""
        reason = " ".join(reason.split())
        if not reason:
            raise InvalidInput("say why the dispatch is cancelled", field="reason")
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
            check_transition(dispatch.state, DispatchState.CANCELLED)
            await self.store.seal_cancel_reason(tx, dispatch.id, reason[:MAX_REASON_CHARS])
            await self._close(tx, dispatch, DispatchState.CANCELLED, actor, {"reason_given": True})

    async def resolve(self, dispatch_id: int, actor: str, outcome: str) -> None:
        """Close an accepted dispatch with an outcome from config."""
        if not any(o.id == outcome for o in self.dispatch_config.outcomes):
            raise InvalidInput(f"unknown outcome {outcome!r}", field="outcome")
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
            check_transition(dispatch.state, DispatchState.RESOLVED)
            await self._close(
                tx, dispatch, DispatchState.RESOLVED, actor, {"outcome": outcome}, outcome=outcome
            )

    async def _close(
        self,
        tx: Transaction,
        dispatch: DispatchRow,
        state: DispatchState,
        actor: str,
        data: dict[str, Any],
        outcome: str | None = None,
    ) -> None:
        subject = f"dispatch:{dispatch.id}"
        await self.store.update(
            tx,
            dispatch.id,
            state=state,
            closed_at=tx.clock.now(),
            next_step_at=None,
            outcome=outcome,
        )
        await timers.cancel(tx, TIMER_KIND, subject)
        await self.store.cancel_pending_pages(tx, dispatch.id)
        await tx.append_event(f"dispatch.{state.value}", subject, actor, data)

    async def set_state(self, dispatch_id: int, actor: str, state: DispatchState) -> None:
        """Record that the responder is on the way, or has arrived."""
        if state not in (DispatchState.EN_ROUTE, DispatchState.ON_SCENE):
            raise InvalidInput("state must be en_route or on_scene", field="state")
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
            check_transition(dispatch.state, state)
            await self.store.update(tx, dispatch.id, state=state)
            await tx.append_event(f"dispatch.{state.value}", f"dispatch:{dispatch.id}", actor, {})

    async def page_member(self, dispatch_id: int, actor: str, team_id: str, member_id: str) -> None:
        """Page one person now, outside the policy (the policy's timers keep running)."""
        self._member(team_id, member_id)
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
            if dispatch.state.closed:
                raise Conflict("the dispatch is closed", code="dispatch_state")
            hashes = await self.store.phone_hashes(tx)
            now = tx.clock.now()
            await self.store.insert_pages(
                tx,
                [
                    {
                        "dispatch_id": dispatch.id,
                        "step_index": dispatch.step_index,
                        "team_id": team_id,
                        "member_id": member_id,
                        "recipient_hash": hashes.get((team_id, member_id)),
                        "channel": channel.value,
                        "send_after": now,
                    }
                    for channel in (PageChannel.SMS, PageChannel.VOICE)
                ],
            )
            if dispatch.state is DispatchState.REQUESTED:
                await self.store.update(tx, dispatch.id, state=DispatchState.PAGING)
            await tx.append_event(
                "dispatch.paged_manually",
                f"dispatch:{dispatch.id}",
                actor,
                {"team": team_id, "member": member_id},
            )
        self.pager.wake()

    async def disclose_number(self, dispatch_id: int, actor: str) -> None:
        """Text the caller's number to the responder who accepted (an audited disclosure)."""
        async with self.db.transaction() as tx:
            dispatch = await self._locked(tx, dispatch_id)
        if (
            dispatch.accepted_member is None
            or dispatch.accepted_team is None
            or dispatch.state.closed
        ):
            raise Conflict(
                "only an accepted, open dispatch's responder may be given the number",
                code="dispatch_state",
            )
        if dispatch.contact_id is None or self._caller_number is None:
            raise Conflict("this dispatch has no caller's number", code="no_number")
        number = await self._caller_number(dispatch.contact_id)
        if not number:
            raise Conflict("this dispatch has no caller's number", code="no_number")
        phone = await self.store.phone(dispatch.accepted_team, dispatch.accepted_member)
        gateway = self.pager.gateway
        if gateway is None or phone is None:
            raise Conflict("texts cannot be sent: telephony is off", code="telephony_off")
        body = self.dispatch_config.paging.texts["disclosure_sms"].format(
            code=dispatch.code, number=number
        )
        public = self.config.telephony.public_url
        await gateway.send_sms(
            phone,
            body,
            f"{public}/twilio/paging/status?disclosure={dispatch.id}",
            from_=self.dispatch_config.paging.from_number,
        )
        async with self.db.transaction() as tx:
            await self.store.update(tx, dispatch.id, number_disclosed=True)
            disclosed = {
                "team": dispatch.accepted_team,
                "member": dispatch.accepted_member,
                "contact_id": dispatch.contact_id,
            }
            await audit.record(
                tx,
                actor=actor,
                action="number.disclosed",
                subject=f"dispatch:{dispatch.id}",
                purpose="responder_callback",
                data=disclosed,
            )
            await tx.append_event(
                "dispatch.number_disclosed",
                f"dispatch:{dispatch.id}",
                actor,
                dict(disclosed),
            )

    # -- views ---------------------------------------------------------------------------

    def member_view(self, team_id: str | None, member_id: str | None) -> dict[str, Any] | None:
        """A member as the board shows them (never their number)."""
        if not team_id or not member_id:
            return None
        team = self.dispatch_config.teams.get(team_id)
        member = team.member(member_id) if team else None
        if member is None:
            return {"id": member_id, "name": member_id, "role": "member"}
        return {"id": member.id, "name": member.name, "role": member.role.value}

    def team_view(self, team: Team, now: datetime) -> dict[str, Any]:
        """A team row on the board: on call now and next, gaps ahead."""
        from dispatch import rosters

        current = on_call(team.roster, now)
        upcoming = (
            rosters.next_change(team.roster, now) if hasattr(rosters, "next_change") else None
        )
        return {
            "id": team.id,
            "kind": team.kind.value,
            "name_zh": team.name_zh,
            "name_en": team.name_en,
            "district_id": team.district_id,
            "time_zone": team.roster.time_zone,
            "on_call": {
                "primary": self.member_view(team.id, current.primary),
                "secondary": self.member_view(team.id, current.secondary),
            },
            "next": None
            if upcoming is None
            else {
                "at": upcoming.at.isoformat(),
                "primary": self.member_view(team.id, upcoming.primary),
                "secondary": self.member_view(team.id, upcoming.secondary),
            },
            "gaps": [
                {"start": start.isoformat(), "end": end.isoformat()}
                for start, end in gaps(team.roster, now, now + timedelta(days=GAP_DAYS))
            ],
            "members": [m.public() for m in team.members],
        }

    async def board_view(self) -> dict[str, Any]:
        """Everything the board shows (docs/dispatch-api.md)."""
        now = self.clock.now()
        rows = await self.store.board_rows(now - timedelta(hours=BOARD_CLOSED_HOURS))
        return {
            "now": now.isoformat(),
            "teams": [self.team_view(t, now) for t in self.dispatch_config.teams],
            "dispatches": await self._views(rows),
            "outcomes": [o.as_dict() for o in self.dispatch_config.outcomes],
        }

    async def dispatch_view(self, dispatch_id: int) -> dict[str, Any]:
        """One dispatch with its pages, responses and timeline."""
        row = await self.store.get(None, dispatch_id)
        if row is None:
            raise NotFound(f"no dispatch {dispatch_id}")
        return (await self._views([row]))[0]

    async def _views(self, rows: list[DispatchRow]) -> list[dict[str, Any]]:
        ids = [r.id for r in rows]
        pages: dict[int, list[PageRow]] = {}
        for page in await self.store.pages_of(None, ids):
            pages.setdefault(page.dispatch_id, []).append(page)
        responses: dict[int, list[dict[str, Any]]] = {}
        for response in await self.store.responses_of(ids):
            responses.setdefault(response.dispatch_id, []).append(
                {
                    "member": self.member_view(response.team_id, response.member_id),
                    "team_id": response.team_id,
                    "response": response.response,
                    "eta_minutes": response.eta_minutes,
                    "reason": response.reason or None,
                    "via": response.via,
                    "actor": response.actor,
                    "at": response.at.isoformat(),
                }
            )
        timelines: dict[int, list[dict[str, Any]]] = {}
        for chunk in [ids[i : i + 500] for i in range(0, len(ids), 500)]:
            events = await self.db.fetchall(
                "SELECT subject, kind, at, actor, data FROM events WHERE subject IN"
                f" ({','.join('?' * len(chunk))}) ORDER BY id",
                [f"dispatch:{i}" for i in chunk],
            )
            for event in events:
                timelines.setdefault(int(event["subject"].split(":")[1]), []).append(
                    {
                        "kind": event["kind"],
                        "at": from_iso(event["at"]).isoformat(),
                        "actor": event["actor"],
                        "data": json.loads(event["data"]),
                    }
                )
        views = []
        for row in rows:
            accepted = None
            if row.accepted_member:
                accepted = {
                    "team_id": row.accepted_team,
                    "member": self.member_view(row.accepted_team, row.accepted_member),
                    "at": row.accepted_at.isoformat() if row.accepted_at else None,
                    "eta_minutes": row.eta_minutes,
                    "via": row.accepted_via,
                    "actor": row.accepted_actor,
                }
            views.append(
                {
                    "id": row.id,
                    "code": row.code,
                    "kind": row.kind,
                    "team_id": row.team_id,
                    "district_id": row.district_id,
                    "risk": row.risk.value,
                    "summary": row.summary,
                    "contact_id": row.contact_id,
                    "state": row.state.value,
                    "requested_by": row.requested_by,
                    "requested_at": row.requested_at.isoformat(),
                    "step_index": row.step_index,
                    "total_steps": Policy.from_json(row.policy).total_steps,
                    "next_step_at": row.next_step_at.isoformat() if row.next_step_at else None,
                    "alarm": row.alarm,
                    "exhausted": row.exhausted,
                    "accepted": accepted,
                    "outcome": row.outcome,
                    "closed_at": row.closed_at.isoformat() if row.closed_at else None,
                    "number_disclosed": row.number_disclosed,
                    "cancel_reason": row.cancel_reason or None,
                    "pages": [
                        {
                            "id": p.id,
                            "team_id": p.team_id,
                            "member": self.member_view(p.team_id, p.member_id),
                            "channel": p.channel,
                            "step_index": p.step_index,
                            "state": p.state,
                            "delivery": p.delivery,
                            "created_at": p.created_at.isoformat(),
                            "send_after": p.send_after.isoformat(),
                            "sent_at": p.sent_at.isoformat() if p.sent_at else None,
                            "response": p.response,
                            "responded_at": p.responded_at.isoformat() if p.responded_at else None,
                            "error": p.error,
                        }
                        for p in pages.get(row.id, [])
                    ],
                    "responses": responses.get(row.id, []),
                    "timeline": timelines.get(row.id, []),
                }
            )
        return views
