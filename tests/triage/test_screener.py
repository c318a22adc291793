"""The pre-chat screener: the Columbia-style mapping as a table, and the chat endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.errors import InvalidInput
from hotline.risk import RiskLevel
from hotline.triage.screener import screen
from hotline.web import keys


@pytest.mark.parametrize(
    ("answers", "level", "first_reason"),
    [
        ({}, RiskLevel.NONE, None),
        (
            {"wished_dead": False, "suicidal_thoughts": False, "acted": "never", "safe_now": True},
            RiskLevel.NONE,
            None,
        ),
        ({"wished_dead": True}, RiskLevel.LOW, "screener.wished_dead"),
        (
            {"wished_dead": True, "suicidal_thoughts": True},
            RiskLevel.MODERATE,
            "screener.suicidal_thoughts",
        ),
        ({"acted": "over_3_months"}, RiskLevel.MODERATE, "screener.acted.over_3_months"),
        (
            {"suicidal_thoughts": True, "acted": "within_3_months"},
            RiskLevel.HIGH,
            "screener.acted.within_3_months",
        ),
        ({"acted": "now"}, RiskLevel.IMMINENT, "screener.acted.now"),
        ({"safe_now": False}, RiskLevel.IMMINENT, "screener.not_safe_now"),
        # A skipped question is no evidence either way, never reassurance.
        ({"wished_dead": None, "safe_now": None}, RiskLevel.NONE, None),
    ],
)
def test_screener_mapping(
    answers: dict[str, Any], level: RiskLevel, first_reason: str | None
) -> None:
    """Behaviour now or not safe now is imminent; recent behaviour high; thoughts moderate."""
    result = screen(answers)
    assert result.level is level
    assert (result.reasons[0] if result.reasons else None) == first_reason


@pytest.mark.parametrize(
    "answers", [{"acted": "yesterday"}, {"safe_now": "yes"}, {"favourite_colour": "blue"}]
)
def test_bad_answers_are_refused(answers: dict[str, Any]) -> None:
    """An answer out of range is an error naming the question, not a guess."""
    with pytest.raises(InvalidInput, match="screener"):
        screen(answers)


async def test_a_screened_chat_enters_the_queue_at_its_level(client: Any) -> None:
    """Answers that show danger put the person ahead of earlier, unscreened chats."""
    await client.post("/chat/api/conversations", json={})
    urgent = await client.post(
        "/chat/api/conversations",
        json={"screener": {"suicidal_thoughts": True, "acted": "now", "safe_now": False}},
    )
    assert urgent.status == 201
    contact_id = (await urgent.json())["contact_id"]
    app = client.server.app
    queue = await app[keys.CONVERSATIONS].queue()
    assert queue[0].id == contact_id and queue[0].risk is RiskLevel.IMMINENT
    [event] = [
        e
        for e in await app[keys.DATABASE].events_for(f"contact:{contact_id}")
        if e.kind == "contact.risk_changed"
    ]
    assert event.actor == "screener" and "screener.acted.now" in event.data["reasons"]
    bad = await client.post("/chat/api/conversations", json={"screener": {"acted": "soon"}})
    assert bad.status == 400
    assert await app[keys.CONVERSATIONS].queue_length() == 2, "a refused start stores nothing"
