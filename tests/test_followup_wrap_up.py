"""The follow-up decision on the wrap-up: who must decide, what consent needs, what is passed on.

The real app over HTTP; the follow-up side (dispatch) is reached only through the
`on_follow_up` hook, which these tests set to a recorder of their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.config import ConfigError, load_config
from hotline.contacts import ContactState, FollowUpRequest
from hotline.errors import Conflict
from hotline.risk import RiskLevel
from hotline.store.database import Transaction
from hotline.web import keys
from tests.conftest import DEFAULT_CONFIG, Staff, StaffFactory

NUMBER = "+8613900001234"
FORM = {
    "category": "suicidal_ideation",
    "outcome": "safety_plan",
    "referral": "none",
    "key_groups": [],
    "summary": "",
}


@dataclass
class Recorder:
    """Stands in for the follow-up side: records each request and what its transaction saw."""

    requests: list[FollowUpRequest] = field(default_factory=list)
    seen_reason: list[object] = field(default_factory=list)

    async def __call__(self, tx: Transaction, request: FollowUpRequest) -> None:
        self.requests.append(request)
        # Uncommitted, and visible only inside the wrap-up's own transaction.
        self.seen_reason.append(
            await tx.fetchval(
                "SELECT follow_up_reason FROM wrap_ups WHERE contact_id = ?",
                (request.contact_id,),
            )
        )


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


async def _in_wrap_up(
    client: TestClient[Any, Any], staff: Staff, risk: RiskLevel, channel: str
) -> int:
    """A contact of this channel at this risk, taken and ended by `staff`: in wrap-up."""
    conversations = _app(client)[keys.CONVERSATIONS]
    if channel == "sms":
        contact, _message, _new = await conversations.sms_received(NUMBER, "你好")
    else:
        contact, _token = await conversations.start_webchat(None, "zh-CN")
    if risk is not RiskLevel.NONE:
        await conversations.raise_risk(contact.id, risk, "screener", ["test"])
    taken = await staff.post("/console/api/take-next")
    assert (await taken.json())["contact"]["id"] == contact.id
    ended = await staff.post(f"/console/api/contacts/{contact.id}/end")
    assert (await ended.json())["state"] == "wrap_up"
    return contact.id


CONSENT_RULES = [
    # (risk, channel, follow-up fields, status, error code or None)
    pytest.param(RiskLevel.HIGH, "webchat", {}, 400, "follow_up_decision_required", id="high-none"),
    pytest.param(
        RiskLevel.IMMINENT, "sms", {}, 400, "follow_up_decision_required", id="imminent-none"
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": None},
        400,
        "follow_up_decision_required",
        id="high-null",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": False},
        400,
        "follow_up_reason_required",
        id="high-no-without-reason",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": False, "follow_up_reason": "felt_fine"},
        400,
        "follow_up_reason_required",
        id="high-no-unknown-reason",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": False, "follow_up_reason": "person_declined"},
        200,
        None,
        id="high-no-with-reason",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": "yes"},
        400,
        "invalid",
        id="high-not-a-bool",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": True},
        400,
        "follow_up_phone_required",
        id="high-yes-webchat-without-number",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": True, "follow_up_phone": "138 0013 8000"},
        400,
        "invalid_phone",
        id="high-yes-phone-without-country-code",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {"follow_up_wanted": True, "follow_up_phone": "+86 138 0013 8000"},
        200,
        None,
        id="high-yes-webchat-with-phone",
    ),
    pytest.param(
        RiskLevel.HIGH, "sms", {"follow_up_wanted": True}, 200, None, id="high-yes-own-number"
    ),
    pytest.param(RiskLevel.MODERATE, "webchat", {}, 200, None, id="moderate-none"),
    pytest.param(
        RiskLevel.MODERATE,
        "sms",
        {"follow_up_wanted": True, "follow_up_owner": "atlantis"},
        400,
        "unknown_district",
        id="unknown-owner-district",
    ),
    pytest.param(
        RiskLevel.MODERATE,
        "sms",
        {"follow_up_wanted": True, "follow_up_owner": "jinghu", "caring_contacts": True},
        200,
        None,
        id="district-team-owns-with-caring",
    ),
    pytest.param(
        RiskLevel.HIGH,
        "webchat",
        {
            "follow_up_wanted": False,
            "follow_up_reason": "person_declined",
            "caring_contacts": True,
        },
        400,
        "caring_needs_consent",
        id="caring-without-consent",
    ),
    pytest.param(
        RiskLevel.LOW,
        "webchat",
        {"follow_up_wanted": False, "caring_contacts": True},
        400,
        "caring_needs_consent",
        id="caring-without-consent-low",
    ),
]


@pytest.mark.parametrize(("risk", "channel", "fields", "status", "code"), CONSENT_RULES)
async def test_follow_up_consent_rules(
    client: TestClient[Any, Any],
    login: StaffFactory,
    risk: RiskLevel,
    channel: str,
    fields: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    """Each rule of the decision; a refused wrap-up changes nothing and opens no case."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    recorder = Recorder()
    conversations.on_follow_up = recorder
    counsellor = await login("wang")
    contact_id = await _in_wrap_up(client, counsellor, risk, channel)

    answer = await counsellor.post(
        f"/console/api/contacts/{contact_id}/wrap-up", {**FORM, **fields}
    )
    body = await answer.json()
    assert answer.status == status, body
    contact = await conversations.get(contact_id)
    if code is not None:
        assert body["error"] == code
        assert body["field"] and body["message"], "the counsellor must be told what to correct"
        assert contact.state is ContactState.WRAP_UP, "a refused wrap-up leaves it open"
        assert await conversations.wrap_up_of(contact_id) is None
        assert recorder.requests == []
        return
    assert contact.state is ContactState.CLOSED
    wrap = await conversations.wrap_up_of(contact_id)
    assert wrap is not None
    consent = fields.get("follow_up_wanted") is True
    assert wrap.follow_up_wanted is consent
    if risk in (RiskLevel.HIGH, RiskLevel.IMMINENT) or consent:
        [request] = recorder.requests
        assert request.contact_id == contact_id
        assert request.counsellor_id == counsellor.user_id
        assert (request.risk, request.consent) == (risk, consent)
        assert request.reason == fields.get("follow_up_reason")
        assert request.caring is bool(fields.get("caring_contacts"))
        assert request.owner_district == fields.get("follow_up_owner")
        assert recorder.seen_reason == [fields.get("follow_up_reason")]
        if consent:
            assert request.phone == (NUMBER if channel == "sms" else "+8613800138000")
        else:
            assert request.phone is None, "no number is passed on without consent"
        if channel == "sms":
            assert request.person_hash == conversations.caller_hash(NUMBER)
    else:
        assert recorder.requests == [], "no decision to pass on at this risk without consent"


async def test_decision_is_stored_and_announced_without_the_number(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The reason and caring consent are stored and in `contact.closed`; the phone nowhere."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    counsellor = await login("wang")
    declined = await _in_wrap_up(client, counsellor, RiskLevel.HIGH, "webchat")
    answer = await counsellor.post(
        f"/console/api/contacts/{declined}/wrap-up",
        {**FORM, "follow_up_wanted": False, "follow_up_reason": "already_in_care"},
    )
    assert answer.status == 200
    detail = await answer.json()
    assert detail["wrap_up"]["follow_up_reason"] == "already_in_care"
    assert detail["wrap_up"]["caring_contacts"] is False
    wrap = await conversations.wrap_up_of(declined)
    assert wrap is not None and wrap.follow_up_reason == "already_in_care"

    agreed = await _in_wrap_up(client, counsellor, RiskLevel.HIGH, "webchat")
    answer = await counsellor.post(
        f"/console/api/contacts/{agreed}/wrap-up",
        {
            **FORM,
            "follow_up_wanted": True,
            "follow_up_phone": "+8613800138000",
            "caring_contacts": True,
            # A reason given with consent is not what the person decided: not kept.
            "follow_up_reason": "person_declined",
        },
    )
    assert answer.status == 200
    wrap = await conversations.wrap_up_of(agreed)
    assert wrap is not None
    assert (wrap.follow_up_wanted, wrap.caring_contacts, wrap.follow_up_reason) == (
        True,
        True,
        None,
    )
    assert wrap.follow_up_phone is None, "the number is never kept with the wrap-up"

    db = app[keys.DATABASE]
    closed = [e for e in await db.events_for(f"contact:{agreed}") if e.kind == "contact.closed"]
    assert closed[0].data["caring_contacts"] is True
    assert closed[0].data["follow_up_reason"] is None
    [earlier] = [
        e for e in await db.events_for(f"contact:{declined}") if e.kind == "contact.closed"
    ]
    assert earlier.data["follow_up_reason"] == "already_in_care"
    rows = await db.fetchall("SELECT * FROM wrap_ups")
    events = await db.fetchall("SELECT data FROM events")
    stored = json.dumps([list(r) for r in rows], default=str) + "".join(r[0] for r in events)
    assert "13800138000" not in stored


async def test_caring_texts_are_refused_for_a_number_that_texted_stop(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """STOP is honoured before consent: caring texts to an opted-out number are refused."""
    conversations = _app(client)[keys.CONVERSATIONS]
    counsellor = await login("wang")
    contact_id = await _in_wrap_up(client, counsellor, RiskLevel.HIGH, "sms")
    await conversations.sms_opt_out(NUMBER)
    base = f"/console/api/contacts/{contact_id}/wrap-up"
    refused = await counsellor.post(
        base, {**FORM, "follow_up_wanted": True, "caring_contacts": True}
    )
    assert refused.status == 400
    assert (await refused.json())["error"] == "opted_out"
    accepted = await counsellor.post(base, {**FORM, "follow_up_wanted": True})
    assert accepted.status == 200


async def test_follow_up_hook_refusing_rolls_back_the_whole_wrap_up(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """A DomainError from the follow-up side fails the wrap-up whole: nothing is half-written."""
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]

    async def refuse(tx: Transaction, request: FollowUpRequest) -> None:
        await tx.append_event("followup.case_opened", f"contact:{request.contact_id}", "system")
        raise Conflict("the follow-up case could not be opened", code="case_refused")

    conversations.on_follow_up = refuse
    counsellor = await login("wang")
    contact_id = await _in_wrap_up(client, counsellor, RiskLevel.HIGH, "sms")
    answer = await counsellor.post(
        f"/console/api/contacts/{contact_id}/wrap-up", {**FORM, "follow_up_wanted": True}
    )
    assert answer.status == 409
    assert (await answer.json())["error"] == "case_refused"
    assert (await conversations.get(contact_id)).state is ContactState.WRAP_UP
    assert await conversations.wrap_up_of(contact_id) is None
    kinds = [e.kind for e in await app[keys.DATABASE].events_for(f"contact:{contact_id}")]
    assert "contact.closed" not in kinds and "followup.case_opened" not in kinds

    recorder = Recorder()
    conversations.on_follow_up = recorder
    again = await counsellor.post(
        f"/console/api/contacts/{contact_id}/wrap-up", {**FORM, "follow_up_wanted": True}
    )
    assert again.status == 200, "the counsellor can submit again once the case can be opened"
    assert [r.contact_id for r in recorder.requests] == [contact_id]


async def test_options_offer_reasons_and_district_teams(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """The console's wrap-up options carry the no-follow-up reasons and the districts."""
    counsellor = await login("wang")
    options = await (await counsellor.get("/console/api/options")).json()
    assert [o["id"] for o in options["follow_up_reasons"]] == [
        "person_declined",
        "already_in_care",
        "could_not_ask",
        "no_way_to_reach",
        "other",
    ]
    assert options["follow_up_reasons"][0]["name_zh"] == "本人拒绝随访"
    assert len(options["districts"]) == 8


def test_a_city_config_must_name_the_reasons(tmp_path: Path) -> None:
    """Without `wrap_up.no_follow_up_reasons` no high-risk wrap-up could ever be recorded, so
    the hotline does not start; the error names the key."""
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    kept = "\n\n".join(
        block for block in text.split("\n\n") if "[[wrap_up.no_follow_up_reasons]]" not in block
    )
    assert kept != text
    path = tmp_path / "city.toml"
    path.write_text(kept, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(path, environ={})
    assert refused.value.key == "wrap_up.no_follow_up_reasons"
    assert "required" in refused.value.problem
