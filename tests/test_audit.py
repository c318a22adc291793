"""The audit trail: append-only, hash-chained, and `hotline audit verify` finds tampering."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.audit import GENESIS, record, verify
from hotline.clock import ManualClock
from hotline.crypto import FieldCipher
from hotline.store.database import DB_FILE, Database
from hotline.users import Role, Users
from tests.conftest import DEFAULT_CONFIG


async def _trail(db: Database, count: int) -> list[str]:
    hashes = []
    for n in range(count):
        async with db.transaction() as tx:
            hashes.append(
                await record(
                    tx,
                    actor=f"user:{n}",
                    action="history.opened",
                    subject=f"contact:{n}",
                    purpose="serving_contact",
                    data={"earlier_contacts": n},
                )
            )
    return hashes


@pytest.fixture
async def db(tmp_path: Path, clock: ManualClock) -> Database:
    database = await Database.open(tmp_path / DB_FILE, clock)
    yield database  # type: ignore[misc]
    await database.close()


def _tamper(path: Path, *statements: str) -> None:
    """What someone with the file could do: drop the guards and edit the rows."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


async def test_records_are_chained_and_verify(db: Database) -> None:
    """Each record carries the hash of the one before; the whole chain verifies."""
    hashes = await _trail(db, 5)
    rows = await db.fetchall("SELECT prev_hash, hash FROM audit_log ORDER BY id")
    assert [r["prev_hash"] for r in rows] == [GENESIS, *hashes[:-1]]
    assert [r["hash"] for r in rows] == hashes and len(set(hashes)) == 5
    result = await verify(db)
    assert result.intact and result.checked == 5


async def test_the_application_cannot_rewrite_or_delete_a_record(db: Database) -> None:
    """Triggers refuse updates and deletes."""
    await _trail(db, 2)
    for statement in ("UPDATE audit_log SET purpose = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(db.errors, match="append-only"):
            async with db.transaction() as tx:
                await tx.execute(statement)
    assert (await verify(db)).intact


@pytest.mark.parametrize(
    ("statements", "broken_at", "problem"),
    [
        (["UPDATE audit_log SET purpose = 'curiosity' WHERE id = 3"], 3, "changed"),
        (["UPDATE audit_log SET data = '{\"earlier_contacts\": 0}' WHERE id = 2"], 2, "changed"),
        (["DELETE FROM audit_log WHERE id = 2"], 3, "missing"),
        (["UPDATE audit_log SET actor = 'user:99' WHERE id = 4"], 4, "changed"),
    ],
)
async def test_tampering_with_the_file_is_found(
    tmp_path: Path, clock: ManualClock, statements: list[str], broken_at: int, problem: str
) -> None:
    """An edited, or removed record breaks the chain at that place."""
    path = tmp_path / DB_FILE
    database = await Database.open(path, clock)
    await _trail(database, 5)
    await database.close()
    await asyncio.to_thread(_tamper, path, *statements)
    database = await Database.open(path, clock)
    try:
        result = await verify(database)
    finally:
        await database.close()
    assert not result.intact
    assert result.broken_at == broken_at and problem in result.problem


async def test_granting_a_role_is_audited(db: Database) -> None:
    """Creating an account records the role it was given."""
    users = Users(db, FieldCipher(os.urandom(32)))
    user = await users.add("zhao", "赵督导", Role.SUPERVISOR, "long enough password")
    [row] = await db.fetchall("SELECT action, subject, data FROM audit_log")
    assert (row["action"], row["subject"]) == ("role.granted", f"user:{user.id}")
    assert "supervisor" in row["data"] and "赵督导" not in row["data"]


def _verify_command(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline.cli", "--config", str(DEFAULT_CONFIG), "audit", "verify"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"HOTLINE_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
    )


async def test_the_verify_command_exits_non_zero_on_tampering(
    tmp_path: Path, clock: ManualClock
) -> None:
    """`hotline audit verify`: 0 with the count and last hash; 1 naming the broken record."""
    intact = await asyncio.to_thread(_verify_command, tmp_path)  # creates key and database
    assert intact.returncode == 0 and "audit trail intact: 0 records" in intact.stdout
    database = await Database.open(tmp_path / DB_FILE, clock)
    hashes = await _trail(database, 3)
    await database.close()
    intact = await asyncio.to_thread(_verify_command, tmp_path)
    assert intact.returncode == 0 and f"3 records; last hash {hashes[-1]}" in intact.stdout
    await asyncio.to_thread(
        _tamper, tmp_path / DB_FILE, "UPDATE audit_log SET subject = 'contact:42' WHERE id = 2"
    )
    broken = await asyncio.to_thread(_verify_command, tmp_path)
    assert broken.returncode == 1 and "BROKEN at record 2" in broken.stderr
