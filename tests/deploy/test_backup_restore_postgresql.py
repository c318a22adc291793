"""deploy/backup and deploy/restore on PostgreSQL: pg_dump taken while the real store writes,
pg_restore into a fresh throwaway database, read back by the real code with the same key.

The databases are made here, on the server at HOTLINE_TEST_POSTGRES_URL (default postgres on
127.0.0.1:5432, trust auth), and dropped afterwards; a server that does not answer fails the
test with what to do, rather than skipping it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hotline.audit import record, verify
from hotline.clock import ManualClock
from hotline.config import Config, DatabaseConfig
from hotline.contacts import Channel
from hotline.crypto import KEY_FILE, FieldCipher
from hotline.risk import RiskLevel
from hotline.store.contacts import ContactRepository, MessageRepository, NewContact
from hotline.store.database import Database
from hotline.store.engine import open_database
from hotline.store.keycheck import data_cipher, verify_data_key
from tests.deploy.scripts import BACKUP, RESTORE, backups_in, run_script
from tests.deploy.tools import require_tool

SERVER_URL = os.environ.get("HOTLINE_TEST_POSTGRES_URL") or (
    "postgresql://postgres@127.0.0.1:5432/postgres"
)
TABLES_SQL = (
    "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
)


def _psql(url: str, sql: str) -> str:
    psql = require_tool("psql", "postgresql-client")
    ran = subprocess.run(
        [psql, "--no-psqlrc", "-tA", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if ran.returncode != 0:
        raise AssertionError(
            f"PostgreSQL at {SERVER_URL} refused `{sql}`: {ran.stderr.strip()}; start one "
            "(scripts/postgres-for-tests) or set HOTLINE_TEST_POSTGRES_URL"
        )
    return ran.stdout.strip()


def _url(name: str) -> str:
    base, _, _ = SERVER_URL.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def databases() -> Iterator[list[str]]:
    """Three fresh databases (source, restore target, spare) with the C collation the store
    expects (docs/storage.md); dropped afterwards."""
    names = [f"hotline_deploy_{secrets.token_hex(5)}" for _ in range(3)]
    for name in names:
        _psql(
            SERVER_URL,
            f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"
            " LC_COLLATE 'C' LC_CTYPE 'C'",
        )
    try:
        yield [_url(name) for name in names]
    finally:
        for name in names:
            _psql(SERVER_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_a_dead_host_first(url: str) -> str:
    """The URL as a gateway names a primary and its standby: a host list, with libpq and
    asyncpg taking the first that accepts writes (docs/operations.md)."""
    scheme, _, rest = url.partition("://")
    userinfo, _, hostpath = rest.rpartition("@")
    separator = "&" if "?" in hostpath else "?"
    return f"{scheme}://{userinfo}@127.0.0.1:1,{hostpath}{separator}target_session_attrs=read-write"


def _on(config: Config, url: str) -> Config:
    return replace(config, database=DatabaseConfig(engine="postgresql", url=url))


@contextlib.asynccontextmanager
async def _store(config: Config, clock: ManualClock) -> AsyncIterator[tuple[Database, FieldCipher]]:
    """The configured store, opened as a gateway opens it: key check first."""
    cipher = data_cipher(config)
    db = await open_database(config, clock)
    try:
        await verify_data_key(db, cipher)
        yield db, cipher
    finally:
        await db.close()


async def _text_arrives(db: Database, cipher: FieldCipher, n: int) -> tuple[int, str, str]:
    """What an inbound SMS leaves in the store: a contact with a sealed number, its sealed
    text, its event, and an audited read of the number."""
    contacts, messages = ContactRepository(db, cipher), MessageRepository(db, cipher)
    number, text = f"+86139{n:08d}", f"短信{n}：今晚很难熬"
    async with db.transaction() as tx:
        [contact] = await contacts.add_queued(
            tx,
            [
                NewContact(
                    channel=Channel.SMS,
                    risk=RiskLevel.NONE,
                    district=None,
                    lang="zh-CN",
                    caller_token_hash=None,
                    connected=True,
                    caller_number=number,
                    caller_hash=cipher.keyed_hash(number),
                )
            ],
        )
        await tx.append_event("contact.queued", f"contact:{contact.id}", "caller", {"n": n})
        await messages.add(tx, contact.id, "caller", None, text)
        await record(
            tx,
            actor="user:1",
            action="caller.read",
            subject=f"contact:{contact.id}",
            purpose="serving_contact",
        )
    return contact.id, number, text


async def test_a_backup_during_writes_restores_into_a_fresh_database(
    config: Config, clock: ManualClock, tmp_path: Path, databases: list[str]
) -> None:
    """pg_dump while the store writes; pg_restore into an empty database; the real code reads
    the same contacts, numbers and texts with the same key, the same event log prefix, and
    an intact audit chain."""
    source, target, _spare = databases
    backups = tmp_path / "backups"
    written: dict[int, tuple[str, str]] = {}
    async with _store(_on(config, source), clock) as (db, cipher):
        for n in range(5):
            contact_id, number, text = await _text_arrives(db, cipher, n)
            written[contact_id] = (number, text)
        before = dict(written)

        async def traffic() -> None:
            for n in range(5, 10_000):
                contact_id, number, text = await _text_arrives(db, cipher, n)
                written[contact_id] = (number, text)
                await asyncio.sleep(0.005)

        task = asyncio.ensure_future(traffic())
        try:
            ran = await run_script(BACKUP, "--database-url", source, "--to", backups)
            at_backup_end = len(written)
            for _ in range(1000):  # and the store keeps taking writes afterwards
                if len(written) >= at_backup_end + 5:
                    break
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert ran.returncode == 0, ran.output
        assert "archive readable" in ran.stdout and source not in ran.output  # no URL printed
        [backup] = backups_in(backups, "pgdump")

        events = await db.fetchall("SELECT id, at, actor, kind, subject, data FROM events")
        audit = await db.fetchall("SELECT id, hash FROM audit_log ORDER BY id")

    restored = await run_script(RESTORE, backup, "--database-url", target, "--skip-audit-verify")
    assert restored.returncode == 0, restored.output
    assert "checksum matches" in restored.stdout and "contacts" in restored.stdout
    assert "SKIPPED (--skip-audit-verify)" in restored.stdout

    async with _store(_on(config, target), clock) as (db, cipher):
        contacts, messages = ContactRepository(db, cipher), MessageRepository(db, cipher)
        ids = [row["id"] for row in await db.fetchall("SELECT id FROM contacts ORDER BY id")]
        assert set(before) <= set(ids) < set(written)  # a snapshot between the two
        for contact_id in ids:
            number, text = written[contact_id]
            assert await contacts.caller_number(contact_id) == number
            assert [m.text for m in await messages.of_contact(contact_id)] == [text]
        got = await db.fetchall("SELECT id, at, actor, kind, subject, data FROM events")
        assert [tuple(r) for r in got] == [tuple(r) for r in events[: len(got)]]
        chain = await verify(db)
        assert chain.intact and chain.checked == len(ids) and len(ids) < len(audit)
        last = await db.fetchval("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        assert last == audit[len(ids) - 1]["hash"]
        # The store's own next ids continue after the restored rows (sequences came along).
        follow = await _text_arrives(db, cipher, 99_999)
        assert follow[0] > max(ids)


async def test_a_restore_refuses_a_database_in_use_and_a_damaged_archive(
    config: Config, clock: ManualClock, tmp_path: Path, databases: list[str]
) -> None:
    """A database that holds tables is refused without --force; a changed archive fails its
    checksum; garbage is no archive; a truncated one fails inside the single transaction and
    leaves the target empty; --force replaces what the backup holds."""
    source, target, spare = databases
    backups = tmp_path / "backups"
    async with _store(_on(config, source), clock) as (db, cipher):
        await _text_arrives(db, cipher, 1)
    listed = _with_a_dead_host_first(source)
    ran = await run_script(BACKUP, "--database-url", listed, "--to", backups)
    assert ran.returncode == 0, ran.output
    assert "127.0.0.1:1," in ran.stdout and "postgres@" not in ran.stdout
    [backup] = backups_in(backups, "pgdump")

    refused = await run_script(RESTORE, backup, "--database-url", source, "--skip-audit-verify")
    assert (
        refused.returncode != 0 and "is not empty" in refused.stderr and "--force" in refused.stderr
    )

    changed = tmp_path / "changed" / backup.name
    changed.parent.mkdir()
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    (changed.parent / f"{backup.name}.sha256").write_bytes(
        (backups / f"{backup.name}.sha256").read_bytes()
    )
    ran = await run_script(RESTORE, changed, "--database-url", target, "--skip-audit-verify")
    assert ran.returncode != 0 and "does not match its checksum" in ran.stderr

    garbage = tmp_path / "garbage.pgdump"
    garbage.write_bytes(b"PGDMP" + os.urandom(2048))
    ran = await run_script(RESTORE, garbage, "--database-url", target, "--skip-audit-verify")
    assert ran.returncode != 0 and "not a readable pg_dump archive" in ran.stderr

    truncated = tmp_path / "truncated.pgdump"
    truncated.write_bytes(backup.read_bytes()[: backup.stat().st_size * 3 // 4])
    ran = await run_script(RESTORE, truncated, "--database-url", target, "--skip-audit-verify")
    assert ran.returncode != 0, ran.output
    assert _psql(target, TABLES_SQL) == "0"  # all or nothing: nothing

    # --force over a database that holds a store with other data: the backup's rows win.
    async with _store(_on(config, spare), clock) as (db, cipher):
        for n in range(3):
            await _text_arrives(db, cipher, 500 + n)
    forced = await run_script(
        RESTORE, backup, "--database-url", spare, "--force", "--skip-audit-verify"
    )
    assert forced.returncode == 0, forced.output
    assert _psql(spare, "SELECT count(*) FROM contacts") == "1"


async def test_the_restore_runs_hotline_audit_verify_on_postgresql(
    config: Config, clock: ManualClock, tmp_path: Path, databases: list[str]
) -> None:
    """Without --skip-audit-verify, the restore proves the audit chain of the restored
    PostgreSQL database with `hotline audit verify` and the key."""
    source, target, _spare = databases
    config = replace(config, data_dir=tmp_path / "var")
    async with _store(_on(config, source), clock) as (db, cipher):
        for n in range(3):
            await _text_arrives(db, cipher, n)
    key = config.data_dir / KEY_FILE
    assert base64.b64decode(key.read_text())
    ran = await run_script(BACKUP, "--database-url", source, "--to", tmp_path / "backups")
    assert ran.returncode == 0, ran.output
    [backup] = backups_in(tmp_path / "backups", "pgdump")
    restored = await run_script(RESTORE, backup, "--database-url", target, "--key-file", key)
    assert restored.returncode == 0, restored.output
    assert "audit trail intact: 3 records" in restored.stdout
