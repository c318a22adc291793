"""English rules: each row is a message, the level it must get, and a reason id prefix."""

from __future__ import annotations

import pytest

from hotline.risk import RiskLevel
from hotline.triage import TextRiskScanner

EN_TABLE = [
    # happening now
    ("I've just taken thirty tablets", "imminent", "en.act.overdose"),
    ("I drank the bleach", "imminent", "en.act.overdose"),
    ("I'm bleeding a lot and feel faint", "imminent", "en.act.cut"),
    ("The noose is tied", "imminent", "en.means.in_place"),
    ("I'm sitting on the ledge", "imminent", "en.place.edge"),
    ("I'm going to kill myself tonight", "imminent", "en.now.act"),
    ("This is my final goodbye", "imminent", "en.farewell"),
    # third party
    ("My friend says he is jumping now", "imminent", "en."),
    ("My brother told me he's going to kill himself", "high", "en.intent"),
    # past vs now
    ("I attempted suicide when I was 19", "high", "en.history.attempt"),
    ("I took all my pills last year", "high", "en.history.attempt"),
    # plans and means
    ("I have been stockpiling my antidepressants", "high", "en.means.saved"),
    ("I've chosen the date", "high", "en.plan"),
    ("I researched the lethal dose", "high", "en.means.research"),
    # ideation
    ("I wish I were dead", "moderate", "en.ideation"),
    ("I can't go on like this", "moderate", "en.ideation"),
    ("I keep thinking about suicide", "moderate", "en.ideation"),
    # negations
    ("I'm not going to kill myself, I'm just sad", "low", "en.distress"),
    ("I never wanted to die", "none", ""),
    ("I don't have any plan to hurt anyone", "none", ""),
    # idioms and hyperbole
    ("This is killing me", "none", ""),
    ("I could die of embarrassment", "none", ""),
    ("I'm dying to see you", "none", ""),
    ("I'm bored to death", "none", ""),
    ("Let's hang out and kill time", "none", ""),
]


@pytest.mark.parametrize(("text", "level", "reason"), EN_TABLE)
def test_en_rules(scanner: TextRiskScanner, text: str, level: str, reason: str) -> None:
    """Each English message gets its level, for the stated reason."""
    assessment = scanner.scan(text)
    assert assessment.level is RiskLevel(level), assessment
    if reason:
        assert assessment.reasons[0].startswith(reason), assessment
    elif level == "none":
        assert assessment.reasons == ()


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_no_text_is_no_risk(scanner: TextRiskScanner, text: str) -> None:
    """An empty message has level none and no reasons."""
    assessment = scanner.scan(text)
    assert assessment.level is RiskLevel.NONE
    assert assessment.reasons == ()


def test_reasons_are_most_severe_first(scanner: TextRiskScanner) -> None:
    """Every rule that fired is listed, the one that set the level first."""
    assessment = scanner.scan("I tried to overdose last year and I'm on the ledge now")
    assert assessment.level is RiskLevel.IMMINENT
    assert assessment.reasons[0] == "en.place.edge"
    assert "en.history.attempt" in assessment.reasons
