"""`hotline followups check`: overdue follow-ups and undecided contacts, exit 1 when any."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from dispatch.config import load_dispatch_config
from dispatch.followups.cases import CaseSource, NewCase, Owner
from dispatch.followups.command import check
from dispatch.followups.service import FollowUps
from dispatch.followups.settings import load_followup_settings
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.store.database import DB_FILE, Database
from hotline.store.keycheck import data_cipher

NUMBER = "+8613912345678"


async def _open_case(config: Config, clock: ManualClock) -> str:
    cipher = data_cipher(config)  # the key first: it is made only for a new data dir
    db = await Database.open(config.data_dir / DB_FILE, clock)
    try:
        async with db.transaction() as tx:
            user_id = await tx.fetchval(
                "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
                " VALUES ('wang', ?, 'counsellor', 'x', '2026-11-23T00:00:00+00:00') RETURNING id",
                (b"\0",),
            )
        followups = FollowUps(
            db,
            cipher,
            config,
            load_followup_settings(config),
            load_dispatch_config(config).teams,
        )
        case = await followups.open_case(
            NewCase(
                source=CaseSource.MANUAL,
                risk=RiskLevel.HIGH,
                lang="zh-CN",
                owner=Owner(user_id=int(user_id)),
                opened_by="system",
                phone=NUMBER,
            )
        )
        return case.pseudonym
    finally:
        await db.close()


async def test_an_overdue_case_is_listed_and_the_exit_status_says_so(
    config: Config, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before it is due: exit 0; after: exit 1, the case named by pseudonym, no number."""
    pseudonym = await _open_case(config, clock)
    assert await check(config, as_json=False, now=clock.now() + timedelta(hours=23)) == 0
    capsys.readouterr()
    assert await check(config, as_json=False, now=clock.now() + timedelta(hours=25)) == 1
    out = capsys.readouterr().out
    assert "overdue follow-ups: 1" in out and pseudonym in out and "high" in out
    assert NUMBER not in out and NUMBER[3:] not in out
    assert await check(config, as_json=True, now=clock.now() + timedelta(days=2)) == 1
    report = json.loads(capsys.readouterr().out)
    assert [row["pseudonym"] for row in report["overdue"]] == [pseudonym]
    assert report["overdue"][0]["supervisors_alarmed"] is False
    assert report["undecided"] == []


def test_the_command_runs_on_an_empty_data_dir(config: Config) -> None:
    """`hotline followups check` as a real process: nothing due, exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--config", config.source, "followups", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOTLINE_DATA_DIR": str(config.data_dir), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "overdue follow-ups: 0" in result.stdout
