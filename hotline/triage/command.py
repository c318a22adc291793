"""`hotline triage`: rate JSON lines from stdin or a file, or evaluate against labels."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from hotline.risk import RiskLevel
from hotline.triage.evaluation import evaluate, report
from hotline.triage.rules import RuleFileError
from hotline.triage.scanner import TextRiskScanner

EXIT_RULES = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hotline triage`."""
    parser.add_argument("--input", type=Path, help="JSON lines with a text field (default stdin)")
    parser.add_argument(
        "--rules", type=Path, help="directory of rule files (default config/triage)"
    )
    parser.add_argument(
        "--evaluate",
        type=Path,
        metavar="FILE",
        help="labelled JSON lines (text, level): score them",
    )


def run_triage(args: argparse.Namespace) -> int:
    """Run the command; 0 when all is well, 1 for bad input lines or missed targets."""
    try:
        scanner = (
            TextRiskScanner.from_files([args.rules]) if args.rules else TextRiskScanner.default()
        )
    except RuleFileError as exc:
        print(f"hotline: rule error: {exc}", file=sys.stderr)
        return EXIT_RULES
    if args.evaluate:
        return _evaluate(scanner, args.evaluate)
    if args.input:
        with args.input.open(encoding="utf-8") as stream:
            return _rate(scanner, stream, sys.stdout)
    return _rate(scanner, sys.stdin, sys.stdout)


def _rate(scanner: TextRiskScanner, lines: IO[str], out: IO[str]) -> int:
    status = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            text = _text_of(json.loads(line))
        except (json.JSONDecodeError, ValueError) as exc:
            out.write(json.dumps({"error": f"line {number}: {exc}"}) + "\n")
            status = 1
            continue
        assessment = scanner.scan(text)
        result = {"level": assessment.level.value, "reasons": list(assessment.reasons)}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return status


def _text_of(record: Any) -> str:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("expected a JSON object with a string field 'text'")
    text: str = record["text"]
    return text


def _evaluate(scanner: TextRiskScanner, path: Path) -> int:
    labelled: list[tuple[str, RiskLevel]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"hotline: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            labelled.append((_text_of(record), RiskLevel.parse(str(record.get("level")))))
        except (json.JSONDecodeError, ValueError) as exc:
            print(f"hotline: {path} line {number}: {exc}", file=sys.stderr)
            return 1
    evaluation = evaluate(scanner, labelled)
    print(report(evaluation))
    return 0 if evaluation.passed else 1
