"""The counsellor's C-SSRS assessment: the Columbia mapping, and lowering only with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.risk import RiskLevel
from hotline.triage.assessment import cssrs_level
from hotline.web import keys

NO = {
    "wish_dead": False,
    "suicidal_thoughts": False,
    "method": False,
    "intent": False,
    "plan": False,
    "behaviour": "none",
}


@pytest.mark.parametrize(
    ("changes", "level", "first_reason"),
    [
        ({}, RiskLevel.NONE, None),
        ({"wish_dead": True}, RiskLevel.LOW, "cssrs.wish_dead"),
        ({"wish_dead": True, "suicidal_thoughts": True}, RiskLevel.LOW, "cssrs.suicidal_thoughts"),
        ({"suicidal_thoughts": True, "method": True}, RiskLevel.MODERATE, "cssrs.method"),
        ({"behaviour": "over_3_months"}, RiskLevel.MODERATE, "cssrs.behaviour.over_3_months"),
        ({"suicidal_thoughts": True, "intent": True}, RiskLevel.HIGH, "cssrs.intent"),
        ({"plan": True}, RiskLevel.HIGH, "cssrs.plan"),
        ({"behaviour": "within_3_months"}, RiskLevel.HIGH, "cssrs.behaviour.within_3_months"),
        (
            {"intent": True, "behaviour": "in_progress"},
            RiskLevel.IMMINENT,
            "cssrs.behaviour.in_progress",
        ),
    ],
)
def test_columbia_mapping(
    changes: dict[str, Any], level: RiskLevel, first_reason: str | None
) -> None:
    """Intent, plan or recent behaviour is high; in progress imminent; method moderate."""
    result = cssrs_level({**NO, **changes})
    assert result.level is level
    assert (result.reasons[0] if result.reasons else None) == first_reason


async def test_assessment_sets_the_level_and_lowering_needs_a_reason(
    client: Any, login: Any
) -> None:
    """The assessment may raise freely; lowering below the evidence needs a written reason."""
    wang = await login("wang")
    app = client.server.app
    started = await (
        await client.post(
            "/chat/api/conversations", json={"screener": {"acted": "within_3_months"}}
        )
    ).json()
    contact_id = started["contact_id"]
    assert (await wang.post("/console/api/take-next")).status == 200
    path = f"/console/api/contacts/{contact_id}/assessment"
    lower = {
        **NO,
        "wish_dead": True,
        "protective_factors": ["family_support"],
        "safety_plan": "给姐姐打电话；把药交给家人保管",
    }
    refused = await wang.post(path, lower)
    assert refused.status == 400 and (await refused.json())["error"] == "reason_required"
    assert (await app[keys.CONVERSATIONS].get(contact_id)).risk is RiskLevel.HIGH
    accepted = await wang.post(path, {**lower, "reason": "上次是误服，已核实，目前无计划"})
    assert accepted.status == 200, await accepted.text()
    detail = await accepted.json()
    assert detail["risk"] == "low"
    assert detail["assessment"]["safety_plan"] == lower["safety_plan"]
    assert detail["assessment"]["protective_factors"] == ["family_support"]
    changes = [
        e
        for e in await app[keys.DATABASE].events_for(f"contact:{contact_id}")
        if e.kind == "contact.risk_changed"
    ]
    assert [(e.data["source"], e.data["to"]) for e in changes] == [
        ("screener", "high"),
        ("assessment", "low"),
    ]
    assert changes[-1].data["lowered_with_reason"] is True
    assert "误服" not in str(changes[-1].data), "the reason is sealed, not in the event"
    raised = await wang.post(path, {**NO, "behaviour": "in_progress"})
    assert (await raised.json())["risk"] == "imminent"
