"""The counsellor's assessment: the six C-SSRS screener questions and the Columbia mapping.

1. wish_dead — wished you were dead or could go to sleep and not wake up (past month)
2. suicidal_thoughts — actual thoughts of killing yourself (past month)
3. method — thought about how you might do this (past month)
4. intent — had some intention of acting on these thoughts (past month)
5. plan — started to work out the details, and intend to carry it out (past month)
6. behaviour — ever done, started or prepared anything to end your life; and when:
   `over_3_months`, `within_3_months`, or `in_progress` (happening now)

Columbia triage, as used on crisis lines: behaviour in progress is imminent; intent, or a
plan with intent, in the past month, or any behaviour in the past three months, is high;
thoughts with a method, or behaviour longer ago, is moderate; only the wish or passive
thoughts is low. The reasons name the answers that set the level, so it can be traced.
"""

from __future__ import annotations

from collections.abc import Mapping

from hotline.errors import InvalidInput
from hotline.risk import RiskLevel
from hotline.triage.scanner import Assessment

QUESTIONS = ("wish_dead", "suicidal_thoughts", "method", "intent", "plan")
BEHAVIOUR = ("none", "over_3_months", "within_3_months", "in_progress")
PROTECTIVE_FACTORS = (
    "family_support",
    "reasons_for_living",
    "in_treatment",
    "children_or_dependants",
    "faith_or_culture",
    "future_plans",
    "no_access_to_means",
)


def cssrs_level(answers: Mapping[str, object]) -> Assessment:
    """The level the six answers show, with the answers that set it as reasons."""
    for name in QUESTIONS:
        if not isinstance(answers.get(name), bool):
            raise InvalidInput(f"answer question {name!r} with yes or no", field=name)
    behaviour = answers.get("behaviour")
    if behaviour not in BEHAVIOUR:
        raise InvalidInput(f"behaviour must be one of {', '.join(BEHAVIOUR)}", field="behaviour")
    found: list[tuple[RiskLevel, str]] = []
    if behaviour == "in_progress":
        found.append((RiskLevel.IMMINENT, "cssrs.behaviour.in_progress"))
    if answers["intent"]:
        found.append((RiskLevel.HIGH, "cssrs.intent"))
    if answers["plan"]:
        found.append((RiskLevel.HIGH, "cssrs.plan"))
    if behaviour == "within_3_months":
        found.append((RiskLevel.HIGH, "cssrs.behaviour.within_3_months"))
    if answers["method"]:
        found.append((RiskLevel.MODERATE, "cssrs.method"))
    if behaviour == "over_3_months":
        found.append((RiskLevel.MODERATE, "cssrs.behaviour.over_3_months"))
    if answers["suicidal_thoughts"]:
        found.append((RiskLevel.LOW, "cssrs.suicidal_thoughts"))
    if answers["wish_dead"]:
        found.append((RiskLevel.LOW, "cssrs.wish_dead"))
    if not found:
        return Assessment(RiskLevel.NONE, ())
    found.sort(key=lambda item: item[0].rank, reverse=True)
    return Assessment(found[0][0], tuple(reason for _, reason in found))
