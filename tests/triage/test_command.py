"""`hotline triage` run as a real process: JSON lines in, one JSON line out per input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.triage.test_dev_set import DEV_SET

REPO = Path(__file__).resolve().parents[2]


def _triage(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", "triage", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_rates_each_line_in_order_and_reports_bad_lines() -> None:
    """Good lines get level and reasons; a bad line gets an error and the exit status is 1."""
    lines = [
        json.dumps({"text": "我刚把一整瓶安眠药都吃了", "id": 7}, ensure_ascii=False),
        "this is not json",
        json.dumps({"no_text": True}),
        json.dumps({"text": "What time do you open?"}),
    ]
    result = _triage(stdin="\n".join(lines) + "\n")
    assert result.returncode == 1, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0] == {"level": "imminent", "reasons": ["zh.act.overdose.taken"]}
    assert "error" in out[1]
    assert "error" in out[2]
    assert out[3] == {"level": "none", "reasons": []}


def test_clean_input_exits_zero(tmp_path: Path) -> None:
    """With --input and only good lines the exit status is 0."""
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": "I'm not suicidal, just tired"}) + "\n", encoding="utf-8")
    result = _triage("--input", str(source))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["level"] in ("none", "low")


def test_evaluate_prints_figures_and_passes_on_the_dev_set() -> None:
    """--evaluate prints per-level figures and the targets, exit 0 when all pass."""
    result = _triage("--evaluate", str(DEV_SET))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imminent" in result.stdout
    assert result.stdout.count("PASS") == 5


def test_evaluate_fails_when_a_target_is_missed(tmp_path: Path) -> None:
    """A labelled imminent message the rules miss makes the evaluation exit 1."""
    labelled = tmp_path / "hard.jsonl"
    labelled.write_text(json.dumps({"text": "hello", "level": "imminent"}) + "\n", encoding="utf-8")
    result = _triage("--evaluate", str(labelled))
    assert result.returncode == 1
    assert "FAIL" in result.stdout


def test_bad_rules_directory_is_a_rule_error(tmp_path: Path) -> None:
    """--rules pointing at a broken file exits 2 naming the file and rule."""
    (tmp_path / "en.toml").write_text(
        'lang = "en"\n[[rule]]\nid = "en.x"\nlevel = "severe"\npatterns = ["x"]\n', encoding="utf-8"
    )
    result = _triage("--rules", str(tmp_path), stdin="{}\n")
    assert result.returncode == 2
    assert "en.x" in result.stderr
    assert "en.toml" in result.stderr
