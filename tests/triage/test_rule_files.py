"""Rule file validation: a broken file is refused with the file, the rule id and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.risk import RiskLevel
from hotline.triage import RuleFileError, TextRiskScanner
from hotline.triage.scanner import default_rules_dir

GOOD_RULE = """
[[rule]]
id = "en.test.one"
level = "high"
patterns = ['\\bbridge\\b']
"""


def _write(tmp_path: Path, body: str, name: str = "en.toml") -> Path:
    path = tmp_path / name
    path.write_text('lang = "en"\n' + body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "rule_id", "problem"),
    [
        (
            '[[rule]]\nid = "en.bad.regex"\nlevel = "high"\npatterns = ["(unclosed"]\n',
            "en.bad.regex",
            "bad regex",
        ),
        (
            '[[rule]]\nid = "en.bad.level"\nlevel = "urgent"\npatterns = ["x"]\n',
            "en.bad.level",
            "unknown risk level 'urgent'",
        ),
        (GOOD_RULE + GOOD_RULE.replace("one", "one"), "en.test.one", "duplicate rule id"),
        (
            '[[rule]]\nid = "en.bad.key"\nlevel = "low"\npatterns = ["x"]\nseverity = 3\n',
            "en.bad.key",
            "unknown key(s) severity",
        ),
        (
            '[[rule]]\nid = "en.bad.define"\nlevel = "low"\npatterns = ["<<nowhere>>"]\n',
            "en.bad.define",
            "unknown define <<nowhere>>",
        ),
        (
            '[[rule]]\nid = "en.no.patterns"\nlevel = "low"\npatterns = []\n',
            "en.no.patterns",
            "needs at least one pattern",
        ),
    ],
)
def test_bad_rule_is_refused_with_file_id_and_problem(
    tmp_path: Path, body: str, rule_id: str, problem: str
) -> None:
    """The error names the file, the rule and what is wrong."""
    path = _write(tmp_path, body)
    with pytest.raises(RuleFileError) as caught:
        TextRiskScanner.from_files([path])
    message = str(caught.value)
    assert str(path) in message
    assert repr(rule_id) in message
    assert problem in message


def test_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    """A misspelt file-level key is an error, not silently ignored."""
    path = _write(tmp_path, "negations = ['not']\n" + GOOD_RULE)
    with pytest.raises(RuleFileError, match=r"unknown key.*negations"):
        TextRiskScanner.from_files([path])


def test_duplicate_id_across_files_is_refused(tmp_path: Path) -> None:
    """Rule ids are unique over all files, since reasons name them."""
    _write(tmp_path, GOOD_RULE, "a.toml")
    _write(tmp_path, GOOD_RULE, "b.toml")
    with pytest.raises(RuleFileError, match="duplicate rule id"):
        TextRiskScanner.from_files([tmp_path])


def test_own_rules_replace_the_shipped_ones(tmp_path: Path) -> None:
    """A directory of other rule files is used instead of the shipped ones."""
    scanner = TextRiskScanner.from_files([_write(tmp_path, GOOD_RULE)])
    assessment = scanner.scan("meet me at the bridge")
    assert (assessment.level, assessment.reasons) == (RiskLevel.HIGH, ("en.test.one",))


def test_shipped_rules_load(scanner: TextRiskScanner) -> None:
    """The shipped directory holds both languages' files and they are valid."""
    assert {p.name for p in default_rules_dir().glob("*.toml")} == {"zh.toml", "en.toml"}
    assert scanner.rule_count > 20
