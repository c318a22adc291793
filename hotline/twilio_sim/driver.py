"""The Twilio simulator as tests and the demo drive it: people calling and texting the hotline.

`TwilioSimulator` plays Twilio's part of every conversation with the hotline: it posts the
signed webhooks a real call or text would cause, runs the TwiML the hotline answers with
(IVR, queue, dial, hang-up) and serves the REST API the hotline uses to steer live calls
(`rest.py`). Each `SimulatedCall` is one caller's line.

Time is simulated. It moves only by `TwilioSimulator.advance()` or when a test says how long
a caller has waited (`poll_wait(queue_time=…)`); `<Pause>`, Gather timeouts and ringing take
no simulated time, and nothing sleeps. Work that Twilio would do on its own after answering
a request (running redirected TwiML, ringing a dial, delivery receipts) runs in background
tasks that `settle()` drains, so tests wait for exactly that work and never for a clock.

A webhook answered with an error, or with something that is not TwiML, ends the call the way
Twilio's "application error" does; it is recorded in `errors`, never raised into the test
unless the test asks with `raise_for_errors()`.

The account has the hotline number and, through `add_number()`, any others (the dispatch
side pages from its own number): each number has its own webhooks, and the REST side refuses
a `From` that is not one of them, as Twilio does. People rung by REST-created calls follow
`answer_policy` (which includes answering machines) and press the keys in `outbound_digits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator
from yarl import URL

from hotline.twilio_sim.rest import (
    API_VERSION,
    CallResource,
    RestError,
    SentMessage,
    TwilioRestSimulator,
    new_sid,
)
from hotline.twilio_sim.twiml import (
    Dial,
    DialTarget,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Message,
    Redirect,
    Reject,
    Say,
    TwiMLError,
    Verb,
    parse_twiml,
)

__all__ = [
    "DEFAULT_HOTLINE_NUMBER",
    "ApplicationError",
    "CallState",
    "PhoneNumber",
    "SimulatedCall",
    "SimulatorError",
    "TwilioSimulator",
    "WebhookExchange",
]

CallState = Literal["ivr", "queued", "ringing", "connected", "completed"]
# How a rung party behaves (`answer_policy`). "machine" is an answering machine: it answers
# and listens but never presses a key.
DIAL_OUTCOMES = ("answer", "machine", "no-answer", "busy", "failed")
# The number config/default.toml gives the hotline (`telephony.phone_number`): the REST side
# only accepts the account's own numbers as `From`, so the default must match what a hotline
# configured by default sends from.
DEFAULT_HOTLINE_NUMBER = "+865533110000"
# AnsweredBy, by MachineDetection mode, for an answering machine (a person is "human").
_MACHINE_ANSWERED_BY = {"Enable": "machine_start", "DetectMessageEnd": "machine_end_beep"}
# How a text's delivery unfolds, keyed by the outcome `sms_delivery` chooses for its number.
SMS_OUTCOMES = {
    "delivered": ("sent", "delivered"),
    "undelivered": ("sent", "undelivered"),
    "failed": ("failed",),
}
TWIML_CONTENT_TYPES = ("text/xml", "application/xml")
# Documents one step may fetch before the simulator calls it a loop (Twilio has a similar cap).
MAX_DOCUMENTS_PER_STEP = 50
WEBHOOK_TIMEOUT = aiohttp.ClientTimeout(total=15)  # Twilio gives a webhook 15 seconds


_T = TypeVar("_T")


class SimulatorError(Exception):
    """The test asked the simulator for something the call's state does not allow."""


@dataclass(frozen=True)
class PhoneNumber:
    """One of the account's numbers and the webhooks configured on it (Twilio's console).

    A webhook left None means the number takes no inbound calls (or texts): the simulator
    refuses to place one, since a real person's call would go nowhere the test can see.
    """

    number: str
    voice_url: str | None = None
    sms_url: str | None = None
    voice_status_callback: str | None = None


@dataclass(frozen=True)
class WebhookExchange:
    """One request the simulator made to the hotline, and what came back."""

    url: str
    method: str
    params: dict[str, str]
    status: int | None  # None: no HTTP answer at all (connection refused, timeout)
    text: str
    content_type: str = ""
    error: str | None = None

    @property
    def path(self) -> str:
        """The URL's path, e.g. "/twilio/voice/wait"."""
        return urlsplit(self.url).path

    @property
    def ok(self) -> bool:
        """Whether the hotline answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class ApplicationError:
    """A webhook answer Twilio would have called an application error."""

    call_sid: str | None
    url: str
    reason: str


@dataclass(frozen=True)
class _Step:
    """A TwiML document to run next, where it came from, and whether it is hold (wait) TwiML."""

    verbs: list[Verb]
    url: str
    waiting: bool = False


@dataclass(frozen=True)
class _Queued:
    """The `<Enqueue>` a call waits under, and the rest of the document it came from."""

    verb: Enqueue
    url: str
    rest: list[Verb]


@dataclass
class _ActiveDial:
    """A `<Dial>` in progress: who rings, who answered, and what follows it."""

    verb: Dial
    url: str
    rest: list[Verb]
    child_sids: list[str] = field(default_factory=list)
    answered: DialTarget | None = None
    answered_sid: str | None = None
    connected_at: float | None = None
    sequence: int = 0


class SimulatedCall:
    """One caller's line: what they heard, where they are, and what they can do next."""

    def __init__(
        self,
        simulator: TwilioSimulator,
        *,
        sid: str,
        from_: str,
        to: str,
        direction: str,
        status_callback: str | None,
        digits: Iterable[str] = (),
        voice_url: str | None = None,
        status_callback_event: tuple[str, ...] = (),
        status_callback_method: str = "POST",
        machine_detection: str | None = None,
        arrived: float | None = None,
    ) -> None:
        self.simulator = simulator
        self.sid = sid
        self.from_ = from_
        self.to = to
        self.direction = direction
        self.status_callback = status_callback
        # Empty: Twilio's default, a status callback only when the call ends.
        self.status_callback_event = status_callback_event
        self.status_callback_method = status_callback_method
        self.machine_detection = machine_detection
        # Real time (`time.perf_counter()`) when the call was asked for: the REST request's
        # arrival for calls the hotline places, the `place_call()` for inbound ones.
        self.arrived = time.perf_counter() if arrived is None else arrived
        # Who picked up an outbound call: AnsweredBy as Twilio reports it (only with
        # MachineDetection), and whether it really was a machine (known even without).
        self.answered_by: str | None = None
        self.answered_by_machine = False
        self._voice_url = voice_url
        self._sequence = 0
        self.state: CallState = "ringing" if direction == "outbound-api" else "ivr"
        self.said: list[str] = []
        self.verbs: list[Verb] = []  # top-level verbs run, in order (a Gather holds its own)
        self.pending_digits: deque[str] = deque(digits)
        self.created_at = simulator.now()
        self.started_at = simulator.seconds
        self.ended_at: float | None = None
        self.end_status: str | None = None
        self.queue_name: str | None = None
        self.enqueued_at: float | None = None
        self.left_queue_at: float | None = None
        self.dial_target: str | None = None
        self.child_sid: str | None = None
        self._answered = False
        self._queued: _Queued | None = None
        self._queue_order = 0
        self._dial: _ActiveDial | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ringing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<SimulatedCall {self.sid} {self.direction} {self.state}>"

    # -- what tests read -----------------------------------------------------------------

    @property
    def queue_time(self) -> int:
        """Simulated seconds spent in the current (or last) queue."""
        if self.enqueued_at is None:
            return 0
        until = self.left_queue_at if self.left_queue_at is not None else self.simulator.seconds
        return int(until - self.enqueued_at)

    @property
    def duration(self) -> int:
        """Simulated seconds from the start of the call to its end (or to now)."""
        until = self.ended_at if self.ended_at is not None else self.simulator.seconds
        return int(until - self.started_at)

    @property
    def status(self) -> str:
        """The call's status as Twilio's REST API and status callbacks name it."""
        if self.state == "completed":
            return self.end_status or "completed"
        return "ringing" if not self._answered else "in-progress"

    @property
    def webhooks(self) -> list[WebhookExchange]:
        """The webhooks this call (or a leg it dialled) caused, in order."""
        return [
            w
            for w in self.simulator.webhooks
            if self.sid in (w.params.get("CallSid"), w.params.get("ParentCallSid"))
        ]

    def resource(self) -> CallResource:
        """The call as the REST API shows it."""
        start = self.simulator.at(self.started_at) if self._answered else None
        end = self.simulator.at(self.ended_at) if self.ended_at is not None else None
        return CallResource(
            sid=self.sid,
            to=self.to,
            from_=self.from_,
            status=self.status,
            direction=self.direction,
            date_created=self.created_at,
            start_time=start,
            end_time=end,
            duration=self.duration if self.state == "completed" else None,
            answered_by=self.answered_by,
        )

    # -- what tests do -------------------------------------------------------------------

    async def poll_wait(
        self, queue_time: int | None = None, *, digits: Iterable[str] | None = None
    ) -> None:
        """Request the queue's wait URL once, as Twilio repeats it, and run what it answers.

        `queue_time` says how long the caller has waited by now (the simulated enqueue time
        moves back to match, so later QueueTimes agree); `digits` are pressed first at any
        `<Gather>` in the answer, before the call's remaining digits.
        """
        if self.state != "queued":
            raise SimulatorError(f"{self!r} is not waiting in a queue")
        if queue_time is not None:
            self.enqueued_at = self.simulator.seconds - queue_time
        if digits is not None:
            self.pending_digits.extendleft(reversed(list(digits)))
        await self._drive(self._poll_wait())

    async def hangup(self) -> None:
        """The caller hangs up, wherever the call is."""
        if self.state == "completed":
            return
        await self._drive(self._hang_up())

    async def counsellor_hangs_up(self) -> None:
        """The dialled party (a counsellor) hangs up; the Dial's action decides what follows."""
        if self.state != "connected":
            raise SimulatorError(f"{self!r} is not connected to anyone")
        await self._drive(self._other_side_hangs_up())

    # -- running TwiML -------------------------------------------------------------------

    async def _drive(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as the call's current activity and wait until the call rests again.

        It runs as a task so a REST redirect can cancel it midway, as Twilio abandons the
        current TwiML (say the hotline redirects the call while still answering one of its
        webhooks). The wait then follows the redirected TwiML instead, so the caller still
        returns at a resting point; a dial's ringing is background work, not waited for.
        """
        task = self._hand_over(work)
        while True:
            await asyncio.wait({task})
            if not task.cancelled():
                break
            successor = self._runner
            if successor is None or successor is task or successor is self._ringing:
                return
            task = successor
        if (error := task.exception()) is not None:
            self.simulator._claim_failure(error)
            raise error

    def _hand_over(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Make `work` the call's activity, abandoning whatever it was doing before."""
        self._cancel_runner()
        task = self.simulator._spawn(work)
        self._runner = task
        return task

    def _cancel_runner(self) -> None:
        runner = self._runner
        if runner is not None and not runner.done() and runner is not asyncio.current_task():
            runner.cancel()

    async def _arrive(self) -> None:
        """An inbound call: ask the called number's voice URL what to do, and do it."""
        assert self._voice_url is not None
        step = await self._follow(self._voice_url, "POST", {}, waiting=False)
        if step is not None:
            await self._execute(step)

    async def _outbound(self, twiml: list[Verb] | None, url: str | None, method: str) -> None:
        """A call the hotline placed through REST: ring `To`, then run its TwiML.

        With MachineDetection, detection is synchronous as on Twilio: it is over before the
        TwiML is fetched, so the `Url` request carries its verdict as AnsweredBy.
        """
        await self._progress("initiated", CallStatus="initiated")
        outcome = self.simulator.dial_outcome(self.to)
        if outcome != "failed":
            await self._progress("ringing", CallStatus="ringing")
        if outcome not in ("answer", "machine"):
            self._mark_ended(outcome)
            await self._report_end()
            return
        self._answered = True
        self.answered_by_machine = outcome == "machine"
        if self.machine_detection is not None:
            machine = _MACHINE_ANSWERED_BY[self.machine_detection]
            self.answered_by = machine if self.answered_by_machine else "human"
        self.state = "ivr"
        self.started_at = self.simulator.seconds
        await self._progress("answered", CallStatus="in-progress")
        detected = {"AnsweredBy": self.answered_by} if self.answered_by is not None else {}
        await self._run_new_twiml(twiml, url, method, detected)

    async def _run_new_twiml(
        self,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        if twiml is not None:
            # A Twiml parameter has no address of its own; relative URLs resolve on the hotline.
            await self._execute(_Step(twiml, self.simulator.webhook_base + "/"))
            return
        assert url is not None
        step = await self._follow(url, method, extra or {}, waiting=False)
        if step is not None:
            await self._execute(step)

    async def _execute(self, step: _Step) -> None:
        """Run a document and whatever it leads to, until the call rests or ends."""
        next_step: _Step | None = step
        for _ in range(MAX_DOCUMENTS_PER_STEP):
            if next_step is None:
                return
            next_step = await self._run_document(next_step)
        if next_step is not None:
            self.simulator._application_error(
                self.sid,
                next_step.url,
                f"more than {MAX_DOCUMENTS_PER_STEP} documents without the call resting",
            )
            await self._end("completed")

    async def _run_document(self, step: _Step) -> _Step | None:
        """Run one document's verbs; return the document to run next, or None to rest."""
        for index, verb in enumerate(step.verbs):
            self.verbs.append(verb)
            self._heard(verb)
            if isinstance(verb, Gather):
                for child in verb.children:
                    self._heard(child)
                entry = self._next_digits()
                if entry is not None or verb.action_on_empty_result:
                    # Nothing pressed (a timeout) reaches the action only when the Gather asks
                    # for it, and then without Digits; otherwise the document goes on.
                    action = urljoin(step.url, verb.action) if verb.action else step.url
                    pressed = {"Digits": entry} if entry is not None else {}
                    return await self._follow(action, verb.method, pressed, waiting=step.waiting)
            elif isinstance(verb, Redirect):
                return await self._follow(
                    urljoin(step.url, verb.url), verb.method, {}, waiting=step.waiting
                )
            elif isinstance(verb, Enqueue | Dial) and step.waiting:
                await self._misplaced(step, verb)
                return None
            elif isinstance(verb, Enqueue):
                self._join_queue(_Queued(verb, step.url, step.verbs[index + 1 :]))
                return None
            elif isinstance(verb, Dial):
                self._start_dial(_ActiveDial(verb, step.url, step.verbs[index + 1 :]))
                return None
            elif isinstance(verb, Leave) and step.waiting:
                return await self._leave_queue()
            elif isinstance(verb, Hangup):
                await self._hang_up()
                return None
            elif isinstance(verb, Reject):
                await self._end("busy" if verb.reason == "busy" else "no-answer")
                return None
            # Say, Play, Pause, Message (a voice call ignores texts) and a <Leave> outside a
            # queue (Twilio ignores it) just let the document go on.
        if step.waiting:
            # Hold TwiML ran out: Twilio would request the wait URL again, which is the
            # test's next poll_wait().
            return None
        await self._end("completed")
        return None

    def _heard(self, verb: Verb) -> None:
        if isinstance(verb, Say):
            self.said.append(verb.text)

    def _next_digits(self) -> str | None:
        """The caller's entry for this Gather, or None when nothing is pressed (a timeout).

        An answering machine never presses anything. Otherwise the call's own digits come
        first (`place_call(digits=…)`, `poll_wait(digits=…)`); a call the hotline placed
        then takes the next entry of `outbound_digits[To]`, consumed from that list, so
        successive calls to one person follow one script. An empty entry is no keypress.
        """
        if self.answered_by_machine:
            return None
        if self.pending_digits:
            return self.pending_digits.popleft() or None
        if self.direction == "outbound-api":
            script = self.simulator._outbound_script(self.to)
            if script:
                return script.pop(0) or None
        return None

    async def _misplaced(self, step: _Step, verb: Verb) -> None:
        self.simulator._application_error(
            self.sid, step.url, f"<{type(verb).__name__}> is not allowed in wait TwiML"
        )
        await self._end("completed")

    async def _follow(
        self, url: str, method: str, extra: dict[str, str], *, waiting: bool
    ) -> _Step | None:
        """Request TwiML for this call; on an application error end the call and return None."""
        params = self._params(**extra)
        if waiting:
            params.update(self._queue_params())
        verbs = await self.simulator._fetch_twiml(url, method, params, call_sid=self.sid)
        if verbs is None:
            await self._end("completed")
            return None
        self._answered = True
        return _Step(verbs, url, waiting)

    def _params(self, **extra: str) -> dict[str, str]:
        params = {
            "CallSid": self.sid,
            "AccountSid": self.simulator.account_sid,
            "From": self.from_,
            "To": self.to,
            "CallStatus": self.status,
            "Direction": self.direction,
            "ApiVersion": API_VERSION,
        }
        params.update(extra)
        return params

    # -- the queue -----------------------------------------------------------------------

    def _join_queue(self, queued: _Queued) -> None:
        self._queued = queued
        self.state = "queued"
        self.queue_name = queued.verb.queue_name
        self.enqueued_at = self.simulator.seconds
        self.left_queue_at = None
        self._queue_order = self.simulator._next_queue_order()

    def _exit_queue(self) -> _Queued | None:
        queued, self._queued = self._queued, None
        if queued is not None:
            self.left_queue_at = self.simulator.seconds
            self.state = "ivr"
        return queued

    def _queue_params(self) -> dict[str, str]:
        name = self.queue_name or ""
        waiting = self.simulator.queue(name)
        position = waiting.index(self) + 1 if self in waiting else 0
        average = sum(c.queue_time for c in waiting) // len(waiting) if waiting else 0
        return {
            "QueueSid": self.simulator.queue_sid(name),
            "QueuePosition": str(position),
            "QueueTime": str(self.queue_time),
            "AvgQueueTime": str(average),
            "CurrentQueueSize": str(len(waiting)),
        }

    async def _poll_wait(self) -> None:
        queued = self._queued
        assert queued is not None
        if queued.verb.wait_url is None:
            return  # Twilio plays its default hold music; nothing to ask the hotline
        wait_url = urljoin(queued.url, queued.verb.wait_url)
        step = await self._follow(wait_url, queued.verb.wait_url_method, {}, waiting=True)
        if step is not None:
            await self._execute(step)

    async def _leave_queue(self) -> _Step | None:
        """`<Leave/>`: out of the queue, then the Enqueue's action (or the rest of its document)."""
        queued = self._queued
        assert queued is not None
        extra = self._queue_exit_params("leave")
        self._exit_queue()
        if queued.verb.action is None:
            return _Step(queued.rest, queued.url)
        action = urljoin(queued.url, queued.verb.action)
        return await self._follow(action, queued.verb.method, extra, waiting=False)

    def _queue_exit_params(self, result: str) -> dict[str, str]:
        return {
            "QueueResult": result,
            "QueueTime": str(self.queue_time),
            "QueueSid": self.simulator.queue_sid(self.queue_name or ""),
        }

    async def _report_queue_exit(self, queued: _Queued, extra: dict[str, str]) -> None:
        """Tell the Enqueue's action why the caller left; its answer goes unheard."""
        if queued.verb.action is not None:
            await self.simulator.webhook(
                urljoin(queued.url, queued.verb.action), self._params(**extra), queued.verb.method
            )

    # -- dialling ------------------------------------------------------------------------

    def _start_dial(self, active: _ActiveDial) -> None:
        """Start ringing; the outcome is background work (see `settle`)."""
        self._dial = active
        self.state = "ringing"
        self.dial_target = active.verb.targets[0].value
        self._ringing = self._hand_over(self._ring(active))

    async def _ring(self, active: _ActiveDial) -> None:
        targets = active.verb.targets
        # A <Dial> has no machine detection here: a machine that picks up is bridged like
        # anyone who answers, as Twilio bridges a <Number> that reaches voicemail.
        outcomes = [
            "answer" if outcome == "machine" else outcome
            for outcome in (self.simulator.dial_outcome(t.value) for t in targets)
        ]
        for target in targets:
            child_sid = new_sid("CA")
            active.child_sids.append(child_sid)
            await self._leg_event(active, target, child_sid, "initiated", "initiated")
        for target, child_sid, outcome in zip(targets, active.child_sids, outcomes, strict=True):
            if outcome != "failed":
                await self._leg_event(active, target, child_sid, "ringing", "ringing")
        if "answer" in outcomes:
            chosen = outcomes.index("answer")
            for index, (target, child_sid) in enumerate(
                zip(targets, active.child_sids, strict=True)
            ):
                if index != chosen:
                    await self._leg_event(active, target, child_sid, "completed", "canceled")
            active.answered = targets[chosen]
            active.answered_sid = active.child_sids[chosen]
            active.connected_at = self.simulator.seconds
            self.dial_target = targets[chosen].value
            self.child_sid = active.answered_sid
            self.state = "connected"
            await self._leg_event(
                active, targets[chosen], active.answered_sid, "answered", "in-progress"
            )
            return
        statuses = {_DIAL_STATUS[o] for o in outcomes}
        status = statuses.pop() if len(statuses) == 1 else "no-answer"
        for target, child_sid, outcome in zip(targets, active.child_sids, outcomes, strict=True):
            await self._leg_event(active, target, child_sid, "completed", _DIAL_STATUS[outcome])
        step = await self._finish_dial(status, 0)
        if step is not None:
            await self._execute(step)

    async def _leg_event(
        self,
        active: _ActiveDial,
        target: DialTarget,
        child_sid: str,
        event: str,
        call_status: str,
        **extra: str,
    ) -> None:
        """Post a dialled leg's status callback, if the target asked for this event.

        As on Twilio, a statusCallback without statusCallbackEvent hears only "completed".
        """
        events = target.status_callback_event or ("completed",)
        if target.status_callback is None or event not in events:
            return
        active.sequence += 1
        params = {
            "AccountSid": self.simulator.account_sid,
            "CallSid": child_sid,
            "ParentCallSid": self.sid,
            "From": active.verb.caller_id or self.from_,
            "To": f"client:{target.value}" if target.kind == "client" else target.value,
            "CallStatus": call_status,
            "Direction": "outbound-dial",
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(active.sequence - 1),
            "ApiVersion": API_VERSION,
            **extra,
        }
        await self.simulator.webhook(urljoin(active.url, target.status_callback), params)

    def _dial_duration(self, active: _ActiveDial) -> int:
        if active.connected_at is None:
            return 0
        return int(self.simulator.seconds - active.connected_at)

    async def _end_leg(self, active: _ActiveDial, status: str) -> None:
        """The answered leg (if any) hangs up: its "completed" callback."""
        if active.answered is not None and active.answered_sid is not None:
            duration = str(self._dial_duration(active))
            await self._leg_event(
                active,
                active.answered,
                active.answered_sid,
                "completed",
                status,
                CallDuration=duration,
            )

    def _clear_dial(self) -> _ActiveDial | None:
        active, self._dial = self._dial, None
        if active is not None:
            self.dial_target = None
            self.state = "ivr"
        return active

    def _dial_action_params(self, active: _ActiveDial, status: str) -> dict[str, str]:
        dialled = active.answered_sid or (active.child_sids[0] if active.child_sids else "")
        return {
            "DialCallStatus": status,
            "DialCallSid": dialled,
            "DialCallDuration": str(self._dial_duration(active)),
        }

    async def _finish_dial(self, status: str, duration: int) -> _Step | None:
        """The Dial is over: its action says what next, or the rest of its document does."""
        active = self._dial
        assert active is not None
        extra = self._dial_action_params(active, status)
        extra["DialCallDuration"] = str(duration)
        self._clear_dial()
        if active.verb.action is None:
            return _Step(active.rest, active.url)
        action = urljoin(active.url, active.verb.action)
        return await self._follow(action, active.verb.method, extra, waiting=False)

    async def _other_side_hangs_up(self) -> None:
        active = self._dial
        assert active is not None
        await self._end_leg(active, "completed")
        step = await self._finish_dial("completed", self._dial_duration(active))
        if step is not None:
            await self._execute(step)

    # -- ending --------------------------------------------------------------------------

    async def _hang_up(self) -> None:
        """The call ends from the caller's side (they hang up, or TwiML says <Hangup/>).

        It is marked ended first, so a REST redirect racing with it is refused as Twilio
        refuses one for a finished call; then a queue or dial it was in hears why it ended
        (QueueResult=hangup; DialCallStatus=completed, or canceled while still ringing),
        and last comes the status callback.
        """
        if self.state == "completed":
            return
        queued, active = self._queued, self._dial
        queue_extra = self._queue_exit_params("hangup") if queued is not None else {}
        dial_extra: dict[str, str] = {}
        if active is not None:
            status = "completed" if active.answered is not None else "canceled"
            dial_extra = self._dial_action_params(active, status)
        self._mark_ended("completed")
        if queued is not None:
            await self._report_queue_exit(queued, queue_extra)
        if active is not None:
            await self._end_leg(active, "completed")
            if active.verb.action is not None:
                await self.simulator.webhook(
                    urljoin(active.url, active.verb.action),
                    self._params(**dial_extra),
                    active.verb.method,
                )
        await self._report_end()

    async def _end(self, status: str) -> None:
        """The call is over: mark it and post the status callback."""
        if self.state == "completed":
            return
        self._mark_ended(status)
        await self._report_end()

    def _mark_ended(self, status: str) -> None:
        self._exit_queue()
        self._clear_dial()
        self.state = "completed"
        self.end_status = status
        self.ended_at = self.simulator.seconds

    async def _report_end(self) -> None:
        """The "completed" status callback; AnsweredBy too when MachineDetection ran."""
        extra = {"CallStatus": self.status, "CallDuration": str(self.duration)}
        if self.answered_by is not None:
            extra["AnsweredBy"] = self.answered_by
        await self._progress("completed", **extra)

    async def _progress(self, event: str, **extra: str) -> None:
        """Post the call's status callback for `event`, if it was asked for.

        As on Twilio, a StatusCallback without StatusCallbackEvent hears only "completed";
        calls that named their events get them numbered (SequenceNumber from 0).
        """
        events = self.status_callback_event or ("completed",)
        if self.status_callback is None or event not in events:
            return
        params = self._params(**extra)
        if self.status_callback_event:
            params["CallbackSource"] = "call-progress-events"
            params["SequenceNumber"] = str(self._sequence)
            self._sequence += 1
        await self.simulator.webhook(self.status_callback, params, self.status_callback_method)

    # -- steered through REST ------------------------------------------------------------

    def _redirect(self, twiml: list[Verb] | None, url: str | None, method: str) -> None:
        """Abandon the current TwiML (queue or dial included) and run new TwiML instead."""
        if self.state == "completed":
            raise RestError(400, 21220, "Call is not in-progress. Cannot redirect.")
        self._cancel_runner()
        # The caller leaves the queue or the dial now, so the REST answer already shows it.
        queued = self._queued
        redirected = self._queue_exit_params("redirected") if queued is not None else {}
        self._exit_queue()
        active = self._clear_dial()
        self._hand_over(self._redirected(twiml, url, method, queued, redirected, active))

    async def _redirected(
        self,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        queued: _Queued | None,
        redirected: dict[str, str],
        active: _ActiveDial | None,
    ) -> None:
        if queued is not None and self.simulator.report_queue_redirects:
            await self._report_queue_exit(queued, redirected)
        if active is not None:
            await self._end_leg(active, "completed")
        await self._run_new_twiml(twiml, url, method)

    def _complete_by_api(self, status: str) -> None:
        """`Status=completed`: the call ends now; no Enqueue or Dial action is requested.

        `Status=canceled` only ends a call nobody has answered yet, as on Twilio.
        """
        if self.state == "completed" or (status == "canceled" and self._answered):
            return
        self._cancel_runner()
        active = self._dial
        self._mark_ended(status)
        self._hand_over(self._completed_by_api(active))

    async def _completed_by_api(self, active: _ActiveDial | None) -> None:
        if active is not None:
            await self._end_leg(active, "completed")
        await self._report_end()


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


_DIAL_STATUS = {
    "answer": "completed",
    "no-answer": "no-answer",
    "busy": "busy",
    "failed": "failed",
}


class TwilioSimulator:
    """Twilio for one account, its hotline number and any numbers added, on this machine."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        webhook_base: str,
        hotline_number: str = DEFAULT_HOTLINE_NUMBER,
        voice_status_callback: str | None = None,
        report_queue_redirects: bool = False,
        epoch: datetime | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.webhook_base = webhook_base.rstrip("/")
        self.hotline_number = hotline_number
        # The number's configured webhooks (what Twilio's console would hold); tests may
        # point them elsewhere.
        self.voice_url = self.webhook_base + "/twilio/voice"
        self.sms_url = self.webhook_base + "/twilio/sms"
        self.voice_status_callback = voice_status_callback or (
            self.webhook_base + "/twilio/voice/status"
        )
        # Twilio requests an Enqueue action with QueueResult=redirected when a REST update
        # moves a caller out of the queue; the hotline's contract does not rely on it, so it
        # is off unless a test wants to see that request too.
        self.report_queue_redirects = report_queue_redirects
        self.epoch = (epoch or datetime.now(UTC)).astimezone(UTC)
        self.seconds = 0.0
        self.calls: dict[str, SimulatedCall] = {}
        # The account's other numbers (the hotline number is configured by the attributes
        # above); see add_number() and numbers.
        self._numbers: dict[str, PhoneNumber] = {}
        # How a rung party behaves, by client identity or number: "answer" (the default),
        # "machine" (an answering machine), "no-answer", "busy" or "failed". Applies to
        # <Dial> targets (where a machine is bridged like a person) and to the `To` of calls
        # created through REST.
        self.answer_policy: dict[str, str] = {}
        # What the person rung by a REST-created call presses, by its `To`: one entry per
        # <Gather> in order ("" = presses nothing), popped from the list as calls run.
        self.outbound_digits: dict[str, list[str]] = {}
        # How a text to a number ends up: "delivered" (default), "undelivered" or "failed".
        self.sms_delivery: dict[str, str] = {}
        self.webhooks: list[WebhookExchange] = []
        self.settle_timeout = 10.0  # real seconds settle() waits before it gives up
        self.errors: list[ApplicationError] = []
        self.rest = TwilioRestSimulator(
            account_sid=account_sid, auth_token=auth_token, control=self, now=self.now
        )
        self.api_base_url: str | None = None
        # twilio is untyped: these calls are Any to mypy, or "untyped calls" if a mypy
        # override follows the package; `unused-ignore` keeps both settings quiet.
        self._validator = RequestValidator(auth_token)  # type: ignore[no-untyped-call, unused-ignore]
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: list[BaseException] = []
        self._queue_sids: dict[str, str] = {}
        self._queue_order = 0
        # One event per wait_for_messages()/wait_for_calls() in progress, set on each arrival.
        self._arrival_waiters: set[asyncio.Event] = set()

    # -- the account's numbers -----------------------------------------------------------

    def add_number(
        self,
        number: str,
        *,
        voice_url: str | None = None,
        sms_url: str | None = None,
        voice_status_callback: str | None = None,
    ) -> PhoneNumber:
        """Give the account another number, with its own webhooks (absolute URLs).

        None for a webhook: the number takes no inbound calls (or texts), though it can
        still call and text out. Adding a number again replaces its webhooks. The hotline
        number is configured through `voice_url`, `sms_url` and `voice_status_callback`.
        """
        if number == self.hotline_number:
            raise SimulatorError(
                f"{number} is the hotline number: set voice_url / sms_url on the simulator"
            )
        for name, url in (
            ("voice_url", voice_url),
            ("sms_url", sms_url),
            ("voice_status_callback", voice_status_callback),
        ):
            if url is not None and not _absolute(url):
                raise SimulatorError(f"{name} must be an absolute http(s) URL, got {url!r}")
        entry = PhoneNumber(number, voice_url, sms_url, voice_status_callback)
        self._numbers[number] = entry
        return entry

    @property
    def numbers(self) -> dict[str, PhoneNumber]:
        """The account's numbers as configured now, the hotline number first."""
        hotline = PhoneNumber(
            self.hotline_number, self.voice_url, self.sms_url, self.voice_status_callback
        )
        return {self.hotline_number: hotline, **self._numbers}

    def owns_number(self, number: str) -> bool:
        """Whether `number` is one of the account's numbers (what REST accepts as `From`)."""
        return number == self.hotline_number or number in self._numbers

    def _called_number(self, to: str, kind: Literal["voice", "sms"]) -> tuple[PhoneNumber, str]:
        """The account's number a person calls or texts, and its webhook for that."""
        number = self.numbers.get(to)
        if number is None:
            raise SimulatorError(
                f"{to} is not one of the account's numbers (the hotline number "
                f"{self.hotline_number} or one given to add_number())"
            )
        url = number.voice_url if kind == "voice" else number.sms_url
        if url is None:
            raise SimulatorError(
                f"{to} takes no inbound {'calls' if kind == 'voice' else 'texts'}: "
                f"give it a {kind}_url with add_number()"
            )
        return number, url

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Open the HTTP session webhooks go out on (without serving the REST side)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=WEBHOOK_TIMEOUT)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the REST side on host:port (0: any free port); return its base URL.

        Starting twice returns the address already served (`async with` starts it too).
        """
        if self._runner is not None:
            return str(self.api_base_url)
        await self.open()
        runner = web.AppRunner(self.rest.app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_port = runner.addresses[0][1]  # the real port when port=0 asked for any
        netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal needs brackets
        self.api_base_url = f"http://{netloc}:{bound_port}"
        return self.api_base_url

    async def close(self) -> None:
        """Stop all background work, the REST server and the webhook session."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- simulated time ------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass for every call."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.seconds += seconds

    def now(self) -> datetime:
        """The simulated instant (epoch plus simulated seconds)."""
        return self.at(self.seconds)

    def at(self, seconds: float) -> datetime:
        """The instant `seconds` simulated seconds after the epoch."""
        return self.epoch + timedelta(seconds=seconds)

    # -- people calling and texting ------------------------------------------------------

    async def place_call(
        self, from_: str, *, to: str | None = None, digits: Iterable[str] = ()
    ) -> SimulatedCall:
        """A person calls the hotline (or the account's number `to`); return once the call
        rests (queued, ringing, ended…).

        `digits` are the caller's entries, one per `<Gather>` in order ("" = presses nothing).
        The call goes to that number's voice URL; SimulatorError if it has none or is not
        the account's.
        """
        number, voice_url = self._called_number(to or self.hotline_number, "voice")
        call = SimulatedCall(
            self,
            sid=new_sid("CA"),
            from_=from_,
            to=number.number,
            direction="inbound",
            status_callback=number.voice_status_callback,
            digits=digits,
            voice_url=voice_url,
        )
        self.calls[call.sid] = call
        await call._drive(call._arrive())
        return call

    async def send_sms(self, from_: str, body: str, *, to: str | None = None) -> list[str]:
        """A person texts the hotline (or the account's number `to`); return the bodies of
        the `<Message>` replies.

        The text goes to that number's SMS URL; SimulatorError if it has none or is not the
        account's.
        """
        number, url = self._called_number(to or self.hotline_number, "sms")
        sid = new_sid("SM")
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": self.account_sid,
            "From": from_,
            "To": number.number,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": API_VERSION,
        }
        replies: list[str] = []
        for _ in range(MAX_DOCUMENTS_PER_STEP):
            verbs = await self._fetch_twiml(url, "POST", params, call_sid=None)
            redirect = None
            for verb in verbs or []:
                if isinstance(verb, Message):
                    replies.append(verb.body)
                elif isinstance(verb, Redirect):
                    redirect = verb
                    break
                else:
                    self._application_error(
                        None, url, f"<{type(verb).__name__}> is not messaging TwiML"
                    )
            if redirect is None:
                return replies
            url = urljoin(url, redirect.url)
        self._application_error(None, url, "too many messaging redirects")
        return replies

    async def end_dial(self, call_sid: str) -> None:
        """The counsellor on `call_sid`'s dial hangs up."""
        await self.calls[call_sid].counsellor_hangs_up()

    async def settle(self) -> None:
        """Wait until all background work is done; re-raise a simulator failure, if any.

        `settle_timeout` (real seconds) guards against a hotline that never stops answering.
        """
        async with asyncio.timeout(self.settle_timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))
        if self._failures:
            failure, *_ = self._failures
            self._failures.clear()
            raise failure

    async def wait_for_messages(
        self,
        count: int,
        *,
        to: str | None = None,
        # Its own limit, not asyncio.timeout() around it, so the error can say what came.
        timeout: float = 10.0,  # noqa: ASYNC109
        from_: str | None = None,
    ) -> list[SentMessage]:
        """Wait until at least `count` texts (to `to`, from `from_`, if given) were created
        through REST.

        Returns all such texts so far, in order, as soon as there are enough (they may
        already be there); TimeoutError after `timeout` real seconds. For benchmarks and
        tests that wait for the hotline's own pace rather than for simulated work to settle.
        `from_` tells one sending number's texts (say, the paging number's) from the rest.
        """

        def matching() -> list[SentMessage]:
            return [
                m
                for m in self.rest.sent_messages
                if (to is None or m["to"] == to) and (from_ is None or m["from"] == from_)
            ]

        what = f"texts to {to or 'anyone'}" + (f" from {from_}" if from_ else "")
        return await self._wait_for(matching, count, timeout, what)

    async def wait_for_calls(
        self,
        count: int,
        *,
        to: str | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 (as wait_for_messages)
    ) -> list[SimulatedCall]:
        """Wait until at least `count` calls (to `to`, if given) were created through REST.

        Like wait_for_messages(), for the calls the hotline places (`Calls.json`).
        """

        def matching() -> list[SimulatedCall]:
            return [
                c
                for c in self.calls.values()
                if c.direction == "outbound-api" and (to is None or c.to == to)
            ]

        return await self._wait_for(matching, count, timeout, f"calls to {to or 'anyone'}")

    async def _wait_for(
        self, matching: Callable[[], list[_T]], count: int, seconds: float, what: str
    ) -> list[_T]:
        # Checking and then waiting has no await in between, so no arrival slips through.
        event = asyncio.Event()
        self._arrival_waiters.add(event)
        found = matching()
        try:
            async with asyncio.timeout(seconds):
                while len(found) < count:
                    await event.wait()
                    event.clear()
                    found = matching()
        except TimeoutError:
            raise TimeoutError(
                f"{len(found)} of {count} {what} arrived within {seconds} s"
            ) from None
        finally:
            self._arrival_waiters.discard(event)
        return found

    def _announce_arrival(self) -> None:
        for event in self._arrival_waiters:
            event.set()

    def raise_for_errors(self) -> None:
        """Raise SimulatorError listing every application error seen so far."""
        if self.errors:
            lines = "\n".join(f"  {e.call_sid or '-'} {e.url}: {e.reason}" for e in self.errors)
            raise SimulatorError(f"application errors:\n{lines}")

    # -- what tests inspect --------------------------------------------------------------

    def webhooks_to(self, path: str) -> list[WebhookExchange]:
        """The webhooks posted to `path` (e.g. "/twilio/voice/status"), in order."""
        return [w for w in self.webhooks if w.path == path]

    def queue(self, name: str) -> list[SimulatedCall]:
        """The calls waiting in the named queue, first in line first."""
        waiting = [c for c in self.calls.values() if c.state == "queued" and c.queue_name == name]
        return sorted(waiting, key=lambda c: c._queue_order)

    def queue_sid(self, name: str) -> str:
        """The QueueSid Twilio would give the named queue (stable per simulator)."""
        return self._queue_sids.setdefault(name, new_sid("QU"))

    def dial_outcome(self, target: str) -> str:
        """How `target` ("counsellor-3", "client:counsellor-3", "+86…") answers a ring.

        One of DIAL_OUTCOMES, from `answer_policy` ("answer" when it does not say).
        """
        outcome = self.answer_policy.get(target) or self.answer_policy.get(
            target.removeprefix("client:"), "answer"
        )
        if outcome not in DIAL_OUTCOMES:
            raise SimulatorError(f"answer_policy[{target!r}] must be one of {DIAL_OUTCOMES}")
        return outcome

    # -- the REST side's CallControl -----------------------------------------------------

    def create_call(
        self,
        sid: str,
        *,
        to: str,
        from_: str,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        status_callback: str | None,
        status_callback_event: tuple[str, ...] = (),
        status_callback_method: str = "POST",
        machine_detection: str | None = None,
        arrived: float | None = None,
    ) -> CallResource:
        """Start an outbound call (REST `Calls.json`); it rings and runs in the background."""
        call = SimulatedCall(
            self,
            sid=sid,
            from_=from_,
            to=to,
            direction="outbound-api",
            status_callback=status_callback,
            status_callback_event=status_callback_event,
            status_callback_method=status_callback_method,
            machine_detection=machine_detection,
            arrived=arrived,
        )
        self.calls[sid] = call
        call._hand_over(call._outbound(twiml, url, method))
        self._announce_arrival()
        return CallResource(
            sid=sid,
            to=to,
            from_=from_,
            status="queued",
            direction=call.direction,
            date_created=call.created_at,
        )

    def update_call(
        self,
        sid: str,
        *,
        twiml: list[Verb] | None,
        url: str | None,
        method: str,
        status: str | None,
    ) -> CallResource:
        """Redirect or end a live call (REST `Calls/{sid}.json`)."""
        call = self._call(sid)
        if status is not None:
            call._complete_by_api(status)
        else:
            call._redirect(twiml, url, method)
        return call.resource()

    def fetch_call(self, sid: str) -> CallResource:
        """Show a call (REST GET `Calls/{sid}.json`)."""
        return self._call(sid).resource()

    def message_created(self, message: SentMessage) -> None:
        """Deliver an outbound text: status callbacks follow in the background."""
        self._spawn(self._deliver(message))
        self._announce_arrival()

    def _outbound_script(self, to: str) -> list[str] | None:
        """The keys still to be pressed by the person a REST call rings (`outbound_digits`)."""
        script = self.outbound_digits.get(to)
        if script is None:
            script = self.outbound_digits.get(to.removeprefix("client:"))
        return script

    def _call(self, sid: str) -> SimulatedCall:
        call = self.calls.get(sid)
        if call is None:
            path = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{sid}.json"
            raise RestError(404, 20404, f"The requested resource {path} was not found")
        return call

    async def _deliver(self, message: SentMessage) -> None:
        outcome = self.sms_delivery.get(message["to"], "delivered")
        statuses = SMS_OUTCOMES.get(outcome)
        if statuses is None:
            raise SimulatorError(f"sms_delivery[{message['to']!r}] must be one of {SMS_OUTCOMES}")
        for status in statuses:
            message["status"] = status
            callback = message["status_callback"]
            if callback is None:
                continue
            params = {
                "MessageSid": message["sid"],
                "SmsSid": message["sid"],
                "AccountSid": self.account_sid,
                "From": message["from"],
                "To": message["to"],
                "MessageStatus": status,
                "SmsStatus": status,
                "ApiVersion": API_VERSION,
            }
            if status in ("failed", "undelivered"):
                params["ErrorCode"] = "30003" if status == "undelivered" else "30008"
            await self.webhook(callback, params)

    # -- plumbing ------------------------------------------------------------------------

    async def webhook(
        self, url: str, params: dict[str, str], method: str = "POST"
    ) -> WebhookExchange:
        """Make one signed request to the hotline, record it, and return the exchange."""
        if self._session is None:
            raise SimulatorError("open() or start() the simulator before it makes calls")
        target = URL(url)
        form: dict[str, str] | None = dict(params)
        signed: dict[str, str] = dict(params)
        if method == "GET":
            # A GET carries the parameters in the query string, and the signature covers them
            # there (as part of the URL), not as form parameters.
            target = target.extend_query(params)
            form, signed = None, {}
        signature = str(self._validator.compute_signature(str(target), signed))  # type: ignore[no-untyped-call, unused-ignore]
        try:
            async with self._session.request(
                method, target, data=form, headers={"X-Twilio-Signature": signature}
            ) as response:
                exchange = WebhookExchange(
                    url=str(target),
                    method=method,
                    params=dict(params),
                    status=response.status,
                    text=await response.text(),
                    content_type=response.content_type,
                )
        except (aiohttp.ClientError, TimeoutError) as error:
            exchange = WebhookExchange(
                url=str(target),
                method=method,
                params=dict(params),
                status=None,
                text="",
                error=f"{type(error).__name__}: {error}",
            )
        self.webhooks.append(exchange)
        return exchange

    async def _fetch_twiml(
        self, url: str, method: str, params: dict[str, str], *, call_sid: str | None
    ) -> list[Verb] | None:
        """Request TwiML; record an application error and return None if it is not usable."""
        exchange = await self.webhook(url, params, method)
        if not exchange.ok:
            reason = exchange.error or f"HTTP {exchange.status}: {exchange.text[:200]}"
            self._application_error(call_sid, exchange.url, reason)
            return None
        if exchange.content_type not in TWIML_CONTENT_TYPES:
            self._application_error(
                call_sid, exchange.url, f"Content-Type {exchange.content_type!r} is not TwiML"
            )
            return None
        try:
            return parse_twiml(exchange.text)
        except TwiMLError as error:
            self._application_error(call_sid, exchange.url, str(error))
            return None

    def _application_error(self, call_sid: str | None, url: str, reason: str) -> None:
        self.errors.append(ApplicationError(call_sid, url, reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            self._failures.append(error)

    def _claim_failure(self, error: BaseException) -> None:
        """A failure someone awaited directly is theirs to raise, not settle()'s."""
        with contextlib.suppress(ValueError):
            self._failures.remove(error)

    def _next_queue_order(self) -> int:
        self._queue_order += 1
        return self._queue_order
