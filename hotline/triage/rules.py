"""Reading and validating the triage rule files, so clinicians can edit rules without code.

One TOML file per language. Top-level keys describe the language: how clauses break, which
cues negate a match just before it, and `define` fragments reused in patterns as <<name>>.
`[[exclusion]]` entries blank out idioms and hyperbole ("累死了", "this is killing me")
before any rule looks; `[[rule]]` entries carry the risk level and their patterns.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hotline.risk import RiskLevel

LANGS = ("zh", "en", "any")
_FILE_KEYS = {"lang", "clause_break", "negation", "negation_window", "define", "exclusion", "rule"}
_EXCLUSION_KEYS = {"id", "patterns", "note"}
_RULE_KEYS = {"id", "lang", "level", "patterns", "unless", "negatable", "note"}
_DEFINE_REF = re.compile(r"<<(\w+)>>")
_FLAGS = re.IGNORECASE


class RuleFileError(ValueError):
    """A rule file that cannot be used; the message names the file, the rule and the problem."""

    def __init__(self, source: str, rule_id: str | None, problem: str) -> None:
        where = f"{source}: rule {rule_id!r}" if rule_id else source
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Rule:
    """One clinical rule: if a pattern matches (and is not negated or excused), it fires."""

    id: str
    lang: str
    level: RiskLevel
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]  # anywhere in the same clause cancels (e.g. "last week")
    negatable: bool


@dataclass(frozen=True)
class RuleSet:
    """The rules of one file with the language conventions they are read under."""

    source: str
    lang: str
    clause_break: re.Pattern[str]
    negation: re.Pattern[str] | None
    negation_window: int
    exclusions: tuple[re.Pattern[str], ...]
    rules: tuple[Rule, ...]


def load_rule_file(path: Path) -> RuleSet:
    """Read and validate one rule file, compiling every pattern once."""
    source = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuleFileError(source, None, f"cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(source, None, f"not valid TOML: {exc}") from None
    return parse_rule_data(raw, source)


def parse_rule_data(raw: dict[str, Any], source: str) -> RuleSet:
    """Validate an already-parsed rule file (exposed for tests)."""
    unknown = sorted(set(raw) - _FILE_KEYS)
    if unknown:
        raise RuleFileError(source, None, f"unknown key(s) {', '.join(unknown)}")
    lang = raw.get("lang")
    if lang not in LANGS:
        raise RuleFileError(source, None, f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    defines = raw.get("define", {})
    if not isinstance(defines, dict) or not all(isinstance(v, str) for v in defines.values()):
        raise RuleFileError(source, None, "define must be a table of name = regex strings")

    def compile_one(pattern: object, rule_id: str | None) -> re.Pattern[str]:
        if not isinstance(pattern, str) or not pattern:
            raise RuleFileError(
                source, rule_id, f"a pattern must be a non-empty string: {pattern!r}"
            )

        def expand(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in defines:
                raise RuleFileError(source, rule_id, f"unknown define <<{name}>> in {pattern!r}")
            return f"(?:{defines[name]})"

        try:
            return re.compile(_DEFINE_REF.sub(expand, pattern), _FLAGS)
        except re.error as exc:
            raise RuleFileError(source, rule_id, f"bad regex {pattern!r}: {exc}") from None

    def compile_list(value: object, rule_id: str | None, key: str) -> tuple[re.Pattern[str], ...]:
        if not isinstance(value, list):
            raise RuleFileError(source, rule_id, f"{key} must be a list of regular expressions")
        return tuple(compile_one(p, rule_id) for p in value)

    clause_break = compile_one(raw.get("clause_break", r"[,.;!?\n]"), None)
    cues = compile_list(raw.get("negation", []), None, "negation")
    negation = re.compile("|".join(c.pattern for c in cues), _FLAGS) if cues else None
    window = raw.get("negation_window", 8)
    if not isinstance(window, int) or window < 0:
        raise RuleFileError(source, None, f"negation_window must be a whole number, got {window!r}")

    exclusions: list[re.Pattern[str]] = []
    for entry in raw.get("exclusion", []):
        entry_id = entry.get("id")
        if not isinstance(entry_id, str) or not entry_id:
            raise RuleFileError(source, None, "every exclusion needs an id")
        bad = sorted(set(entry) - _EXCLUSION_KEYS)
        if bad:
            raise RuleFileError(source, entry_id, f"unknown key(s) {', '.join(bad)}")
        exclusions.extend(compile_list(entry.get("patterns"), entry_id, "patterns"))

    rules: list[Rule] = []
    seen: set[str] = set()
    for entry in raw.get("rule", []):
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise RuleFileError(source, None, f"every rule needs an id (got {entry!r})")
        if rule_id in seen:
            raise RuleFileError(source, rule_id, "duplicate rule id")
        seen.add(rule_id)
        bad = sorted(set(entry) - _RULE_KEYS)
        if bad:
            raise RuleFileError(source, rule_id, f"unknown key(s) {', '.join(bad)}")
        rule_lang = entry.get("lang", lang)
        if rule_lang not in LANGS:
            raise RuleFileError(source, rule_id, f"lang must be one of {', '.join(LANGS)}")
        try:
            level = RiskLevel.parse(str(entry.get("level")))
        except ValueError as exc:
            raise RuleFileError(source, rule_id, str(exc)) from None
        patterns = compile_list(entry.get("patterns"), rule_id, "patterns")
        if not patterns:
            raise RuleFileError(source, rule_id, "needs at least one pattern")
        negatable = entry.get("negatable", True)
        if not isinstance(negatable, bool):
            raise RuleFileError(source, rule_id, "negatable must be true or false")
        unless = compile_list(entry.get("unless", []), rule_id, "unless")
        rules.append(Rule(rule_id, rule_lang, level, patterns, unless, negatable))
    return RuleSet(source, lang, clause_break, negation, window, tuple(exclusions), tuple(rules))
