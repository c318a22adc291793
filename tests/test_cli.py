"""The `hotline` command's administrative subcommands, run as a real process."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import sys
from pathlib import Path

from hotline.clock import SystemClock
from hotline.crypto import FieldCipher, load_or_create_key
from hotline.store.database import DB_FILE, Database
from hotline.users import Users
from tests.conftest import DEFAULT_CONFIG


def _hotline(data: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--config", str(DEFAULT_CONFIG), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOTLINE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
    )


def test_db_migrate_creates_the_schema(tmp_path: Path) -> None:
    """`hotline db migrate` applies the numbered migrations, and is harmless to repeat."""
    for _ in range(2):
        result = _hotline(tmp_path, "db", "migrate")
        assert result.returncode == 0, result.stderr
    assert (tmp_path / DB_FILE).exists()


def test_users_add_prints_a_generated_password_once_that_works(tmp_path: Path) -> None:
    """Without a terminal the password is generated, printed once, and logs in."""
    result = _hotline(tmp_path, "users", "add", "wang.li", "--role", "supervisor")
    assert result.returncode == 0, result.stderr
    assert "added supervisor wang.li" in result.stdout
    password = result.stdout.split("password (shown once): ")[1].strip()
    duplicate = _hotline(tmp_path, "users", "add", "wang.li", "--role", "counsellor")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert password not in duplicate.stdout + duplicate.stderr

    async def check() -> None:
        db = await Database.open(tmp_path / DB_FILE, SystemClock())
        try:
            users = Users(db, FieldCipher(load_or_create_key(tmp_path, None)))
            user = await users.authenticate("wang.li", password)
            assert user is not None and user.role.value == "supervisor"
            assert await users.authenticate("wang.li", password + "x") is None
            stored = await db.fetchval("SELECT password_hash FROM users")
            assert stored.startswith("$argon2id$") and password not in stored
        finally:
            await db.close()

    asyncio.run(check())


def test_unknown_role_is_refused(tmp_path: Path) -> None:
    """A role that does not exist is a usage error naming the valid roles."""
    result = _hotline(tmp_path, "users", "add", "x", "--role", "boss")
    assert result.returncode == 2 and "counsellor" in result.stderr


def test_wrong_or_malformed_data_key_refuses_to_start(tmp_path: Path) -> None:
    """A key that is not the one the data was written with stops the hotline at once (status 2)."""
    assert _hotline(tmp_path, "db", "migrate").returncode == 0  # seals the check with the file key
    for bad in ("not base64!", base64.b64encode(b"k" * 32).decode()):
        result = subprocess.run(
            [sys.executable, "-m", "hotline.cli", "--config", str(DEFAULT_CONFIG), "serve"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={
                "HOTLINE_DATA_DIR": str(tmp_path),
                "HOTLINE_DATA_KEY": bad,
                "PATH": "/usr/bin:/bin",
            },
        )
        assert result.returncode == 2
        assert "data key" in result.stderr


def test_key_from_environment_is_used_and_no_key_file_written(tmp_path: Path) -> None:
    """With HOTLINE_DATA_KEY set, the key lives only in the environment."""
    key = base64.b64encode(b"e" * 32).decode()
    result = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--config", str(DEFAULT_CONFIG), "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOTLINE_DATA_DIR": str(tmp_path), "HOTLINE_DATA_KEY": key, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "keys" / "data.key").exists()


def test_missing_key_file_beside_existing_data_is_not_replaced(tmp_path: Path) -> None:
    """Losing the key file is reported; a new key that could never open the data is not made."""
    assert _hotline(tmp_path, "db", "migrate").returncode == 0
    (tmp_path / "keys" / "data.key").unlink()
    result = _hotline(tmp_path, "serve")
    assert result.returncode == 2 and "is missing" in result.stderr
    assert not (tmp_path / "keys" / "data.key").exists()


def test_a_broken_teams_followups_or_plan_file_stops_serve_with_its_key(tmp_path: Path) -> None:
    """`hotline serve` with a typo in a side file: exit 2, the file and key named."""
    config_dir = tmp_path / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, config_dir)
    broken = {
        "teams.toml": ("[paging]", "[paging]\nloudness = 11"),
        "followups.toml": ('retry_after = "4h"', 'retry_after = "soon"'),
        "plans/flood.toml": ('affected_min_risk = "moderate"', 'affected_min_risk = "urgent"'),
    }
    for name, (old, new) in broken.items():
        path = config_dir / name
        original = path.read_text(encoding="utf-8")
        path.write_text(original.replace(old, new, 1), encoding="utf-8")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "hotline.cli",
                "--config",
                str(config_dir / "default.toml"),
                "serve",
                "--port",
                "1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"HOTLINE_DATA_DIR": str(tmp_path / "var"), "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 2, (name, result.stderr)
        assert "configuration error" in result.stderr and name in result.stderr
        path.write_text(original, encoding="utf-8")
