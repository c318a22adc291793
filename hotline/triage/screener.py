"""The pre-chat screener: four short, optional questions, after the C-SSRS screener.

1. wished_dead: "Have you wished you were dead, or wished you could go to sleep and not
   wake up?"
2. suicidal_thoughts: "Have you had any thoughts of killing yourself?"
3. acted: "Have you ever done anything, started to do anything, or prepared to do anything
   to end your life?" — never / more than 3 months ago / within the last 3 months / now
4. safe_now: "Are you safe right now?"

The mapping follows the Columbia triage logic as far as four questions allow: behaviour
now, or not being safe now, is imminent; behaviour within three months is high; thoughts of
suicide, or behaviour longer ago, is at least moderate; only wishing to be dead is low. A
person may skip any question (or all); unanswered questions count as no evidence, never as
reassurance, and the counsellor's assessment follows in the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping

from hotline.errors import InvalidInput
from hotline.risk import RiskLevel
from hotline.triage.scanner import Assessment

ACTED = ("never", "over_3_months", "within_3_months", "now")
QUESTIONS = ("wished_dead", "suicidal_thoughts", "acted", "safe_now")


def screen(answers: Mapping[str, object]) -> Assessment:
    """The level the answers show, with the answers that raised it as reasons."""
    unknown = sorted(set(answers) - set(QUESTIONS))
    if unknown:
        raise InvalidInput(f"unknown screener question {unknown[0]!r}", field="screener")
    for name in ("wished_dead", "suicidal_thoughts", "safe_now"):
        if answers.get(name) is not None and not isinstance(answers.get(name), bool):
            raise InvalidInput(f"screener.{name} must be true, false or null", field="screener")
    acted = answers.get("acted")
    if acted is not None and acted not in ACTED:
        raise InvalidInput(f"screener.acted must be one of {', '.join(ACTED)}", field="screener")

    found: list[tuple[RiskLevel, str]] = []
    if acted == "now":
        found.append((RiskLevel.IMMINENT, "screener.acted.now"))
    if answers.get("safe_now") is False:
        found.append((RiskLevel.IMMINENT, "screener.not_safe_now"))
    if acted == "within_3_months":
        found.append((RiskLevel.HIGH, "screener.acted.within_3_months"))
    if acted == "over_3_months":
        found.append((RiskLevel.MODERATE, "screener.acted.over_3_months"))
    if answers.get("suicidal_thoughts") is True:
        found.append((RiskLevel.MODERATE, "screener.suicidal_thoughts"))
    if answers.get("wished_dead") is True:
        found.append((RiskLevel.LOW, "screener.wished_dead"))
    if not found:
        return Assessment(RiskLevel.NONE, ())
    found.sort(key=lambda item: item[0].rank, reverse=True)
    return Assessment(found[0][0], tuple(reason for _, reason in found))
