"""`hotline oncall` and `hotline roster ...`: who is on call, gaps ahead, the calendar feed.

Run through the CLI's own `main(argv)` against the shipped config/teams.toml demo roster, in
which Jinghu's weekly turns hand over on Mondays at 09:00 Shanghai time (01:00 UTC).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from icalendar import Calendar

from dispatch.web.calendar import calendar_token
from hotline.cli import main
from hotline.crypto import FieldCipher, load_or_create_key
from tests.conftest import DEFAULT_CONFIG

TEAMS_FILE = DEFAULT_CONFIG.parent / "teams.toml"

# Nobody primary for six hours, appended to a copy of the demo teams file: the override lands
# in the roster of the file's last team.
NOBODY = """
[[teams.roster.overrides]]
position = "primary"
start = 2026-11-24T20:00:00+08:00
end = 2026-11-25T02:00:00+08:00
member = ""
"""


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A fresh data dir, and the shipped teams file unless a test points elsewhere."""
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("HOTLINE_TEAMS", raising=False)
    monkeypatch.delenv("HOTLINE_DATA_KEY", raising=False)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["--config", str(DEFAULT_CONFIG), *args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def with_gap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Point HOTLINE_TEAMS at a copy of the demo teams with a gap; return that team's id."""
    text = TEAMS_FILE.read_text("utf-8") + NOBODY
    path = tmp_path / "teams.toml"
    path.write_text(text, "utf-8")
    monkeypatch.setenv("HOTLINE_TEAMS", str(path))
    team_id: str = tomllib.loads(text)["teams"][-1]["id"]
    return team_id


@pytest.mark.parametrize(
    ("at", "primary", "secondary"),
    [
        ("2026-11-23T09:00", "jinghu_04", "jinghu_03"),  # naive: read in Shanghai time
        ("2026-11-23T08:59:59.999999", "jinghu_03", "jinghu_02"),  # 1 µs before the handoff
        ("2026-11-23T01:00:00Z", "jinghu_04", "jinghu_03"),  # the same instant, in UTC
        ("2026-11-23T00:59:59.999999+00:00", "jinghu_03", "jinghu_02"),
    ],
)
def test_oncall_json_at_the_handoff(
    capsys: pytest.CaptureFixture[str], at: str, primary: str, secondary: str
) -> None:
    """The JSON names team, instant (UTC), primary and secondary, who is next, and gaps."""
    status, out, err = _run(capsys, "oncall", "jinghu", "--at", at, "--json")
    assert status == 0, err
    document = json.loads(out)
    assert set(document) == {"team", "at", "primary", "secondary", "next", "gaps"}
    assert document["team"] == "jinghu"
    assert document["at"].endswith("+00:00") and document["at"].startswith("2026-11-23T0")
    assert set(document["primary"]) == {"id", "name", "role"}
    assert (document["primary"]["id"], document["secondary"]["id"]) == (primary, secondary)
    assert set(document["next"]) == {"at", "primary", "secondary"}
    assert document["gaps"] == []


def test_oncall_json_values_at_the_handoff(capsys: pytest.CaptureFixture[str]) -> None:
    """At Monday 09:00 周红 takes over as primary; next Monday it is 赵杰."""
    _, out, _ = _run(capsys, "oncall", "jinghu", "--at", "2026-11-23T09:00", "--json")
    document = json.loads(out)
    assert document["at"] == "2026-11-23T01:00:00+00:00"
    assert document["primary"] == {"id": "jinghu_04", "name": "周红", "role": "psychiatrist"}
    assert document["secondary"] == {"id": "jinghu_03", "name": "吴平", "role": "social_worker"}
    assert document["next"]["at"] == "2026-11-30T01:00:00+00:00"
    assert document["next"]["primary"]["id"] == "jinghu_02"
    assert "phone" not in out and "+86" not in out
    _, before, _ = _run(capsys, "oncall", "jinghu", "--at", "2026-11-23T08:59:59", "--json")
    assert json.loads(before)["next"]["at"] == "2026-11-23T01:00:00+00:00"


def test_oncall_text_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    """Plain text: the team, the local time, who is primary and secondary, who is next."""
    status, out, _ = _run(capsys, "oncall", "jinghu", "--at", "2026-11-23T09:00")
    assert status == 0
    assert "镜湖区心理援助队" in out and "Asia/Shanghai" in out
    assert "2026-11-23 09:00+08:00" in out
    assert "primary    周红 (jinghu_04, psychiatrist)" in out
    assert "secondary  吴平 (jinghu_03, social_worker)" in out
    assert "2026-11-30 09:00+08:00" in out
    assert "no gaps in the next 14 days" in out and "WARNING" not in out


def test_oncall_unknown_team_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    """A typo in the team id is a usage error (2) that says which ids exist."""
    status, out, err = _run(capsys, "oncall", "jinhu")
    assert status == 2 and out == ""
    assert "'jinhu'" in err and "jinghu" in err and "city" in err and "supervisors" in err


@pytest.mark.parametrize("at", ["yesterday", "2026-13-01T09:00", ""])
def test_oncall_invalid_at_is_a_usage_error(capsys: pytest.CaptureFixture[str], at: str) -> None:
    """An --at that is not ISO 8601 is refused with an example of one that is."""
    status, out, err = _run(capsys, "oncall", "city", "--at", at)
    assert status == 2 and out == ""
    assert "ISO 8601" in err


def test_oncall_warns_of_a_gap(capsys: pytest.CaptureFixture[str], with_gap: str) -> None:
    """A gap within 14 days is a warning line in text and an entry in JSON."""
    status, out, _ = _run(capsys, "oncall", with_gap, "--at", "2026-11-23T12:00")
    assert status == 0
    assert "WARNING: nobody primary on call" in out
    assert "2026-11-24 20:00+08:00 -> 2026-11-25 02:00+08:00" in out
    _, out, _ = _run(capsys, "oncall", with_gap, "--at", "2026-11-24T21:00", "--json")
    document = json.loads(out)
    assert document["primary"] is None and document["secondary"] is not None
    assert document["gaps"] == [
        {"start": "2026-11-24T13:00:00+00:00", "end": "2026-11-24T18:00:00+00:00"}
    ]
    assert document["next"]["at"] == "2026-11-24T18:00:00+00:00"


def test_roster_gaps_exit_status(capsys: pytest.CaptureFixture[str], with_gap: str) -> None:
    """Exit status 1 with a line per gap when any team has one, so a cron job can alert."""
    status, out, _ = _run(capsys, "roster", "gaps", "--at", "2026-11-23T00:00:00+08:00")
    assert status == 1
    assert out.count("GAP ") == 1
    assert f"GAP {with_gap} " in out and "(6 h)" in out
    # The same window without the gap, and a window that has passed it, are clean.
    status, out, _ = _run(capsys, "roster", "gaps", "--at", "2026-11-25T02:00:00+08:00")
    assert status == 0 and "no gaps in the next 14 days (11 teams)" in out
    status, _, _ = _run(capsys, "roster", "gaps", "--at", "2026-11-10T00:00", "--days", "14")
    assert status == 0
    status, _, _ = _run(capsys, "roster", "gaps", "--at", "2026-11-10T00:00", "--days", "15")
    assert status == 1


def test_roster_gaps_clean_demo_roster_and_bad_days(capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped roster has no gaps (0); --days outside 1-366 is a usage error (2)."""
    assert _run(capsys, "roster", "gaps")[0] == 0
    status, _, err = _run(capsys, "roster", "gaps", "--days", "0")
    assert status == 2 and "--days" in err


def test_broken_teams_file_is_a_config_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A missing teams file stops the command with status 2 and names the file."""
    monkeypatch.setenv("HOTLINE_TEAMS", str(tmp_path / "nowhere.toml"))
    status, _, err = _run(capsys, "oncall", "city")
    assert status == 2 and "nowhere.toml" in err


def test_roster_ical_writes_a_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    """The feed on stdout parses, has events for both positions, and no phone numbers."""
    status, out, _ = _run(capsys, "roster", "ical", "jinghu", "--days", "21", "--lang", "en")
    assert status == 0
    calendar = Calendar.from_ical(out)
    summaries = [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")]
    assert len(summaries) >= 6
    assert any("primary on call" in s for s in summaries)
    assert any("secondary on call" in s for s in summaries)
    assert "+8613902" not in out
    assert _run(capsys, "roster", "ical", "atlantis")[0] == 2


def test_roster_calendar_url_carries_the_servers_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The printed URL opens the feed with the token the server will expect."""
    status, out, err = _run(capsys, "roster", "calendar-url", "jinghu")
    assert status == 0, err
    cipher = FieldCipher(load_or_create_key(tmp_path / "var", None, may_create=False))
    token = calendar_token(cipher, "jinghu")
    assert out.strip().endswith(f"/dispatch/teams/jinghu/calendar.ics?token={token}")
