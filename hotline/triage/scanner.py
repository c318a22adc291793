"""The text risk scanner: the highest level among the rules that fire on a message."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import hotline
from hotline.risk import RiskLevel
from hotline.triage.rules import Rule, RuleFileError, RuleSet, load_rule_file

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Assessment:
    """What the scanner concluded: a level and the rule ids behind it, most severe first."""

    level: RiskLevel
    reasons: tuple[str, ...]


def default_rules_dir() -> Path:
    """./config/triage if present, else the rules shipped next to the package."""
    local = Path("config/triage")
    if local.is_dir():
        return local
    return Path(hotline.__file__).resolve().parent.parent / "config" / "triage"


class TextRiskScanner:
    """Scores free text against precompiled rule sets (Mandarin and English)."""

    def __init__(self, rule_sets: Iterable[RuleSet]) -> None:
        self._sets = tuple(rule_sets)
        seen: dict[str, str] = {}
        for rule_set in self._sets:
            for rule in rule_set.rules:
                if rule.id in seen:
                    raise RuleFileError(
                        rule_set.source, rule.id, f"duplicate rule id (also in {seen[rule.id]})"
                    )
                seen[rule.id] = rule_set.source

    @classmethod
    def from_files(cls, paths: Iterable[Path]) -> TextRiskScanner:
        """Build a scanner from the named rule files (a directory means its *.toml files)."""
        files: list[Path] = []
        for path in paths:
            files.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
        if not files:
            raise RuleFileError(", ".join(map(str, paths)), None, "no rule files found")
        return cls(load_rule_file(f) for f in files)

    @classmethod
    def default(cls) -> TextRiskScanner:
        """The shipped rules in config/triage."""
        return cls.from_files([default_rules_dir()])

    @property
    def rule_count(self) -> int:
        """How many rules are loaded."""
        return sum(len(s.rules) for s in self._sets)

    def scan(self, text: str) -> Assessment:
        """Assess one message; no text means no known risk."""
        if not text or not text.strip():
            return Assessment(RiskLevel.NONE, ())
        text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
        has_cjk = _CJK.search(text) is not None
        has_latin = _LATIN.search(text) is not None
        fired: list[Rule] = []
        for rule_set in self._sets:
            if (rule_set.lang == "zh" and not has_cjk) or (rule_set.lang == "en" and not has_latin):
                continue
            fired.extend(_scan_set(rule_set, text, has_cjk, has_latin))
        if not fired:
            return Assessment(RiskLevel.NONE, ())
        fired.sort(key=lambda r: -r.level.rank)  # stable: file order within a level
        return Assessment(fired[0].level, tuple(r.id for r in fired))


def _scan_set(rule_set: RuleSet, text: str, has_cjk: bool, has_latin: bool) -> list[Rule]:
    for exclusion in rule_set.exclusions:
        # Blank the idiom out (same length, so positions stay meaningful).
        text = exclusion.sub(lambda m: " " * len(m.group(0)), text)
    breaks = [m.end() for m in rule_set.clause_break.finditer(text)]
    starts = [m.start() for m in rule_set.clause_break.finditer(text)]
    fired: list[Rule] = []
    for rule in rule_set.rules:
        if (rule.lang == "zh" and not has_cjk) or (rule.lang == "en" and not has_latin):
            continue
        if any(
            _counts(rule_set, rule, m, text, breaks, starts)
            for p in rule.patterns
            for m in p.finditer(text)
        ):
            fired.append(rule)
    return fired


def _counts(
    rule_set: RuleSet,
    rule: Rule,
    match: re.Match[str],
    text: str,
    breaks: list[int],
    starts: list[int],
) -> bool:
    index = bisect_right(breaks, match.start())
    clause_start = breaks[index - 1] if index else 0
    if rule.negatable and rule_set.negation is not None:
        window = text[max(clause_start, match.start() - rule_set.negation_window) : match.start()]
        if rule_set.negation.search(window):
            return False
    if rule.unless:
        end_index = bisect_right(starts, match.end() - 1)
        clause_end = starts[end_index] if end_index < len(starts) else len(text)
        clause = text[clause_start:clause_end]
        if any(u.search(clause) for u in rule.unless):
            return False
    return True
