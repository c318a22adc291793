"""The clinical targets, checked over the labelled development set (a copy in data/).

Speed (not asserted, machines differ): time.perf_counter_ns around each scan, 50 passes over
dev.jsonl after one warm-up pass (3,050 scans), measured on this machine median 0.03 ms and
p99 0.31 ms per message; the slowest message's own median was 0.18 ms. Loading: about 3 ms.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.risk import RiskLevel
from hotline.triage import TextRiskScanner
from hotline.triage.evaluation import evaluate

# A copy of the shared labelled development set (../shared/triage/dev.jsonl), kept in the
# repository so the targets are checked wherever the project is cloned.
DEV_SET = Path(__file__).resolve().parent / "data" / "dev.jsonl"


@pytest.fixture(scope="module")
def labelled() -> list[tuple[str, RiskLevel]]:
    """The development set as (text, true level) pairs."""
    if not DEV_SET.is_file():
        pytest.fail(f"the labelled development set is missing: expected it at {DEV_SET}")
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    return [(row["text"], RiskLevel.parse(row["level"])) for row in rows]


def test_dev_set_meets_every_target(
    scanner: TextRiskScanner, labelled: list[tuple[str, RiskLevel]]
) -> None:
    """Imminent ≥95% high+ and ≥80% exact, high ≥90%, moderate ≥80%, none/low ≤5% alarms."""
    evaluation = evaluate(scanner, labelled)
    failed = [(t.name, t.value) for t in evaluation.targets if not t.passed]
    assert not failed, (failed, evaluation.misses)
    assert {t.name for t in evaluation.targets} >= {"imminent rated imminent"}


def test_dev_set_covers_both_languages(labelled: list[tuple[str, RiskLevel]]) -> None:
    """The figures above mean something only if every level is represented."""
    assert {level for _, level in labelled} == set(RiskLevel)
