"""Caring texts end to end: the real app and twilio client, the simulator as the person's phone.

A case with consent to caring texts sends a short, neutral text on the caring schedule; the
person's reply opens an ordinary SMS contact, linked to the case; STOP stops the texts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from dispatch.followups.cases import CaseSource, NewCase, Owner
from dispatch.followups.service import FollowUps
from dispatch.followups.settings import REVEALING_WORDS
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.twilio_sim import TwilioSimulator
from hotline.web import keys
from tests.simulated_twilio import simulated_line

PERSON = "+8613800138000"


@dataclass
class Line:
    client: TestClient[Any, Any]
    sim: TwilioSimulator
    followups: FollowUps
    clock: ManualClock
    config: Config

    async def counsellor(self) -> int:
        """A staff row to own cases (nobody logs in here)."""
        async with self.followups.db.transaction() as tx:
            user_id = await tx.fetchval(
                "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
                " VALUES ('wang', ?, 'counsellor', 'x', '2026-11-23T00:00:00+00:00') RETURNING id",
                (b"\0",),
            )
        return int(user_id)

    async def open_case(self, *, caring: bool = True) -> int:
        user_id = await self.counsellor()
        case = await self.followups.open_case(
            NewCase(
                source=CaseSource.MANUAL,
                risk=RiskLevel.HIGH,
                lang="zh-CN",
                owner=Owner(user_id=user_id),
                opened_by=f"user:{user_id}",
                district="jinghu",
                phone=PERSON,
                caring=caring,
            )
        )
        return case.id


@pytest.fixture
async def line(
    aiohttp_client: Any, aiohttp_server: Any, config: Config, clock: ManualClock
) -> AsyncIterator[Line]:
    async with simulated_line(aiohttp_server, aiohttp_client, config, clock) as served:
        followups = served.app[dispatch_keys.FOLLOWUPS]
        yield Line(served.client, served.sim, followups, clock, served.config)


async def _texts_to_person(line: Line) -> list[str]:
    return [m["body"] for m in line.sim.rest.sent_messages if m["to"] == PERSON]


async def test_a_caring_text_goes_out_on_schedule_and_reveals_nothing(line: Line) -> None:
    """Nothing before day 2; at day 2 one short neutral text from the hotline's number."""
    case_id = await line.open_case()
    line.clock.advance(days=1, hours=23)
    await line.followups.fire_due()
    assert await _texts_to_person(line) == []
    line.clock.advance(hours=1)
    await line.followups.fire_due()
    [text] = await line.sim.wait_for_messages(1, to=PERSON)
    assert text["from"] == line.config.telephony.phone_number
    assert text["body"] in line.followups.settings.caring_texts["zh-CN"]
    assert not any(word in text["body"].lower() for word in REVEALING_WORDS)
    await line.sim.settle()
    [sent] = await line.followups.cases.caring_texts(case_id)
    assert sent["status"] == "delivered"  # the simulator's delivery receipt was recorded
    # The next one waits for day 7, and the text itself is never stored.
    line.clock.advance(days=3)
    await line.followups.fire_due()
    assert len(await _texts_to_person(line)) == 1
    raw = await line.followups.db.fetchall("SELECT * FROM followup_caring_texts")
    assert all(text["body"] not in str(tuple(row)) for row in raw)


async def test_a_reply_opens_an_sms_contact_linked_to_the_case(line: Line) -> None:
    """The person answers the caring text: a normal contact in the queue, linked as a reply."""
    case_id = await line.open_case()
    line.clock.advance(days=2)
    await line.followups.fire_due()
    await line.sim.wait_for_messages(1, to=PERSON)
    await line.sim.send_sms(PERSON, "谢谢你们还记得我，最近又有点撑不住")
    app = line.client.server.app
    assert app is not None
    [contact] = await app[keys.CONVERSATIONS].queue()
    links = await line.followups.cases.links(case_id)
    assert [(link["contact_id"], link["link"]) for link in links] == [(contact.id, "reply")]


async def test_without_consent_no_caring_text_is_sent(line: Line) -> None:
    """Caring texts only with the person's consent."""
    await line.open_case(caring=False)
    line.clock.advance(days=100)
    await line.followups.fire_due()
    assert await _texts_to_person(line) == []


async def test_stop_stops_caring_texts(line: Line) -> None:
    """A person who texted STOP gets no more caring texts (the case stays open)."""
    await line.open_case()
    line.clock.advance(days=2)
    await line.followups.fire_due()
    await line.sim.wait_for_messages(1, to=PERSON)
    await line.sim.send_sms(PERSON, "STOP")
    line.clock.advance(days=5)
    await line.followups.fire_due()
    assert len(await _texts_to_person(line)) == 1
    skipped = await line.followups.db.fetchval(
        "SELECT COUNT(*) FROM events WHERE kind = 'followup.caring_skipped'"
    )
    assert skipped == 1
