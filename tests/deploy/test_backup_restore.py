"""deploy/backup and deploy/restore on the embedded store: a backup taken while the real app
writes, restored into a fresh data dir and read back by the real code with the same key."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.audit import record, verify
from hotline.clock import ManualClock
from hotline.config import Config
from hotline.crypto import KEY_FILE, FieldCipher
from hotline.store.contacts import ContactRepository, MessageRepository
from hotline.store.database import DB_FILE, Database
from hotline.store.keycheck import data_cipher, verify_data_key
from hotline.web import keys
from hotline.web.app import create_app
from tests.conftest import login_factory
from tests.deploy.scripts import BACKUP, RESTORE, backups_in, rows, run_script, script_env
from tests.deploy.tools import require_tool

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]

EVENTS_SQL = "SELECT id, at, actor, kind, subject, data FROM events ORDER BY id"
AUDIT_SQL = "SELECT id, at, actor, action, subject, purpose, data, prev_hash, hash FROM audit_log"
# What a contact row keeps for life (state, risk and activity times move on).
CONTACTS_SQL = "SELECT id, channel, created_at, caller_token_hash, caller_hash FROM contacts"
MESSAGES_SQL = "SELECT id, contact_id, sender, body_enc, at FROM messages ORDER BY id"


def _roomy(config: Config) -> Config:
    """The test's traffic comes from one address with a clock that stands still."""
    chat = replace(config.webchat, starts_per_minute=10_000, messages_per_window=10_000)
    return replace(config, webchat=chat)


def _origin(client: TestClient[Any, Any]) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def _frame(ws: Any, wanted: str) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame["type"] == wanted:
            return dict(frame)


@dataclass
class Written:
    """What the test wrote through the app, to be found again after the restore."""

    chats: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # id: token, texts
    texts: dict[int, tuple[str, list[str]]] = field(default_factory=dict)  # id: number, texts


async def _chat(client: TestClient[Any, Any], written: Written, n: int) -> None:
    """A person starts a web chat and writes twice, through HTTP and the websocket."""
    started = await client.post("/chat/api/conversations", json={"district": "jinghu"})
    assert started.status == 201, await started.text()
    body = await started.json()
    texts = [f"第{n}位：我睡不着，心里很乱", f"第{n}位：谢谢你们还在"]
    async with client.ws_connect(f"/chat/ws?token={body['token']}", headers=_origin(client)) as ws:
        for text in texts:
            await ws.send_json({"type": "message", "text": text})
            await _frame(ws, "message")
    written.chats[body["contact_id"]] = (body["token"], texts)


async def _traffic(app: web.Application, written: Written, count: list[int]) -> None:
    """Texts arriving and audited reads, back to back, until cancelled."""
    conversations = app[keys.CONVERSATIONS]
    db = app[keys.DATABASE]
    n = 0
    while True:
        number = f"+86139{n:08d}"
        text = f"短信{n}：我需要有人说说话"
        contact, _message, _new = await conversations.sms_received(number, text)
        written.texts[contact.id] = (number, [text])
        async with db.transaction() as tx:
            await record(
                tx,
                actor="user:1",
                action="caller.read",
                subject=f"contact:{contact.id}",
                purpose="serving_contact",
            )
        n += 1
        count[0] = n
        await asyncio.sleep(0.005)


async def _until(count: list[int], at_least: int) -> None:
    for _ in range(2000):
        if count[0] >= at_least:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"the traffic wrote {count[0]} texts, expected {at_least}")


@contextlib.asynccontextmanager
async def _running(task_coro: Awaitable[None]) -> AsyncIterator[None]:
    task = asyncio.ensure_future(task_coro)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _key_file(config: Config) -> Path:
    return config.data_dir / KEY_FILE


def _cipher(key_file: Path) -> FieldCipher:
    return FieldCipher(base64.b64decode(key_file.read_text().strip()))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_backup_during_traffic_restores_whole_and_readable(
    aiohttp_client: ClientFactory, config: Config, clock: ManualClock, tmp_path: Path
) -> None:
    """Backed up while the app writes; restored into a fresh dir; the real code reads back the
    same contacts, sealed texts (same key), event log and an intact audit chain."""
    config = _roomy(config)
    client = await aiohttp_client(create_app(config, clock=clock))
    app = client.app
    assert app is not None
    written = Written()
    counsellor = await login_factory(aiohttp_client, client)("wang")  # audited: role.granted
    for n in range(3):
        await _chat(client, written, n)
    taken = await (await counsellor.post("/console/api/take-next")).json()
    reply = await counsellor.post(
        f"/console/api/contacts/{taken['contact']['id']}/messages", {"text": "我在这里，慢慢说"}
    )
    assert reply.status == 201
    token, texts = written.chats[taken["contact"]["id"]]
    written.chats[taken["contact"]["id"]] = (token, [*texts, "我在这里，慢慢说"])

    source = config.data_dir / DB_FILE
    backups = tmp_path / "backups"
    count = [0]
    async with _running(_traffic(app, written, count)):
        await _until(count, 5)
        logs = (EVENTS_SQL, AUDIT_SQL)
        before = {sql: await asyncio.to_thread(rows, source, sql) for sql in logs}
        chats_before = dict(written.chats)
        texts_before = dict(written.texts)
        ran = await run_script(BACKUP, "--data-dir", config.data_dir, "--to", backups)
        assert ran.returncode == 0, ran.output
        after_backup = count[0]
        await _until(count, after_backup + 5)  # and the app keeps writing afterwards
    assert "integrity ok" in ran.stdout and str(source) in ran.stdout
    [backup] = backups_in(backups)
    assert (backups / f"{backup.name}.sha256").read_text().split()[0] == _sha(backup)
    assert not list(backups.glob("*.partial")) and not list(backups.glob("*.key"))

    restored = tmp_path / "restored"
    ran = await run_script(RESTORE, backup, "--data-dir", restored, "--key-file", _key_file(config))
    assert ran.returncode == 0, ran.output
    assert "audit trail intact" in ran.stdout and "checksum matches" in ran.stdout
    assert (restored / KEY_FILE).read_text() == _key_file(config).read_text()
    assert oct((restored / KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert not [p.name for p in restored.iterdir() if p.name.startswith(".restore")]

    # A consistent snapshot: everything before the backup started, nothing torn, and what it
    # holds of the append-only logs is exactly the source's, in order.
    target = restored / DB_FILE
    for sql in (EVENTS_SQL, AUDIT_SQL, MESSAGES_SQL, CONTACTS_SQL):
        now = await asyncio.to_thread(rows, source, sql)
        got = await asyncio.to_thread(rows, target, sql)
        assert got == now[: len(got)], sql
        assert len(got) < len(now), f"traffic after the backup is not in it: {sql}"
    for sql, rows_before in before.items():
        got = await asyncio.to_thread(rows, target, sql)
        assert got[: len(rows_before)] == rows_before, sql

    # The real code, with the same key: sealed texts and numbers open; the chain holds.
    db = await Database.open(target, clock)
    try:
        cipher = _cipher(_key_file(config))
        messages = MessageRepository(db, cipher)
        contacts = ContactRepository(db, cipher)
        for contact_id, (_token, sent) in chats_before.items():
            assert [m.text for m in await messages.of_contact(contact_id)] == sent
        for contact_id, (number, sent) in texts_before.items():
            assert [m.text for m in await messages.of_contact(contact_id)] == sent
            assert await contacts.caller_number(contact_id) == number
        audit = await verify(db)
        assert audit.intact and audit.checked >= len(before[AUDIT_SQL]) > 5
        queued = await db.fetchval("SELECT COUNT(*) FROM events WHERE kind = 'contact.queued'")
        assert queued == len(await db.fetchall("SELECT id FROM contacts"))
    finally:
        await db.close()

    # And the hotline itself starts on it: a person reconnecting sees their conversation.
    again = await aiohttp_client(create_app(replace(config, data_dir=restored), clock=clock))
    health = await again.get("/healthz")
    assert health.status == 200, await health.text()
    contact_id, (token, sent) = next(iter(chats_before.items()))
    async with again.ws_connect(f"/chat/ws?token={token}", headers=_origin(again)) as ws:
        history = await _frame(ws, "history")
    assert [m["text"] for m in history["messages"]][: len(sent)] == sent, contact_id


async def test_a_restore_does_not_overwrite_a_database_without_force(
    aiohttp_client: ClientFactory, config: Config, clock: ManualClock, tmp_path: Path
) -> None:
    """A data dir that holds a database is refused; --force is refused while a process has it
    open, and once it is closed replaces it, keeping the old one beside it."""
    client = await aiohttp_client(create_app(config, clock=clock))
    app = client.app
    assert app is not None
    await app[keys.CONVERSATIONS].sms_received("+8613900000001", "在吗")
    backups = tmp_path / "backups"
    first = await run_script(BACKUP, "--data-dir", config.data_dir, "--to", backups)
    assert first.returncode == 0, first.output
    [backup] = backups_in(backups)
    await app[keys.CONVERSATIONS].sms_received("+8613900000002", "备份之后的短信")
    live = config.data_dir / DB_FILE
    count_sql = "SELECT COUNT(*) FROM contacts"
    assert await asyncio.to_thread(rows, live, count_sql) == [(2,)]

    refused = await run_script(RESTORE, backup, "--data-dir", config.data_dir)
    assert refused.returncode != 0
    assert "already holds a database" in refused.stderr and "--force" in refused.stderr

    in_use = await run_script(RESTORE, backup, "--data-dir", config.data_dir, "--force")
    assert in_use.returncode != 0 and "is open in process" in in_use.stderr, in_use.output
    assert await asyncio.to_thread(rows, live, count_sql) == [(2,)]

    await client.close()  # the gateway stops: its database closes
    forced = await run_script(RESTORE, backup, "--data-dir", config.data_dir, "--force")
    assert forced.returncode == 0, forced.output
    assert await asyncio.to_thread(rows, live, count_sql) == [(1,)]
    [kept] = config.data_dir.glob("hotline.sqlite3.replaced-*")
    assert await asyncio.to_thread(rows, kept, count_sql) == [(2,)]


def _corrupt(path: Path, offset: int, length: int = 4096) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(os.urandom(length))


async def _one_backup(config: Config, clock: ManualClock, folder: Path) -> Path:
    """A small store as a first start leaves it (key file, key check), a few records, and
    one backup of it."""
    cipher = data_cipher(config)  # a fresh data dir: the key file is made, as on first start
    db = await Database.open(config.data_dir / DB_FILE, clock)
    try:
        await verify_data_key(db, cipher)
        async with db.transaction() as tx:
            await tx.append_event("contact.queued", "contact:1", "caller", {"channel": "sms"})
            await record(
                tx,
                actor="user:1",
                action="caller.read",
                subject="contact:1",
                purpose="serving_contact",
            )
    finally:
        await db.close()
    ran = await run_script(BACKUP, "--data-dir", config.data_dir, "--to", folder)
    assert ran.returncode == 0, ran.output
    [backup] = backups_in(folder)
    return backup


async def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    config: Config, clock: ManualClock, tmp_path: Path
) -> None:
    """A changed file fails its checksum; without the checksum, SQLite's integrity check or its
    header gives it away; the target stays without a database."""
    backup = await _one_backup(config, clock, tmp_path / "backups")
    key = _key_file(config)
    target = tmp_path / "restored"

    changed = tmp_path / "changed" / backup.name
    changed.parent.mkdir()
    changed.write_bytes(backup.read_bytes())
    (changed.parent / f"{backup.name}.sha256").write_bytes(
        (backup.parent / f"{backup.name}.sha256").read_bytes()
    )
    _corrupt(changed, 3 * 4096 + 100, 16)
    ran = await run_script(RESTORE, changed, "--data-dir", target, "--key-file", key)
    assert ran.returncode != 0 and "does not match its checksum" in ran.stderr, ran.output
    assert not (target / DB_FILE).exists()

    # No checksum beside it: every page but the first overwritten (the tables' pages).
    pages = tmp_path / "pages" / backup.name
    pages.parent.mkdir()
    pages.write_bytes(backup.read_bytes())
    _corrupt(pages, 4096, pages.stat().st_size - 4096)
    ran = await run_script(RESTORE, pages, "--data-dir", target, "--key-file", key)
    assert ran.returncode != 0 and "damaged or not a hotline backup" in ran.stderr, ran.output
    assert "no " in ran.stdout and ".sha256 beside it" in ran.stdout
    assert not (target / DB_FILE).exists()

    header = tmp_path / "header" / backup.name
    header.parent.mkdir()
    header.write_bytes(backup.read_bytes())
    _corrupt(header, 0, 100)
    ran = await run_script(RESTORE, header, "--data-dir", target, "--key-file", key)
    assert ran.returncode != 0 and "neither a SQLite database nor a pg_dump" in ran.stderr
    assert not (target / DB_FILE).exists()


async def test_a_restore_with_another_key_is_refused(
    config: Config, clock: ManualClock, tmp_path: Path
) -> None:
    """The key check in the backup proves the key: the wrong one restores nothing; none at
    all is refused before anything is touched."""
    backup = await _one_backup(config, clock, tmp_path / "backups")
    target = tmp_path / "restored"
    other = tmp_path / "other.key"
    other.write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    ran = await run_script(RESTORE, backup, "--data-dir", target, "--key-file", other)
    assert ran.returncode != 0 and "hotline audit verify failed" in ran.stderr, ran.output
    assert "data key does not open this database" in ran.stderr
    assert not (target / DB_FILE).exists() and not (target / KEY_FILE).exists()

    ran = await run_script(RESTORE, backup, "--data-dir", target)
    assert ran.returncode != 0 and "no data key" in ran.stderr
    assert not (target / DB_FILE).exists()

    env = script_env(HOTLINE_DATA_KEY=_key_file(config).read_text().strip())
    ran = await run_script(RESTORE, backup, "--data-dir", target, env=env)
    assert ran.returncode == 0, ran.output
    assert "HOTLINE_DATA_KEY" in ran.stdout and not (target / KEY_FILE).exists()


async def test_backups_rotate_and_the_key_is_kept_apart(
    config: Config, clock: ManualClock, tmp_path: Path
) -> None:
    """--keep N keeps the newest N; --key-to saves the key once, never into the backup folder,
    and a different key already there stops the run."""
    backups = tmp_path / "backups"
    first = await _one_backup(config, clock, backups)
    # The config decides the database when no --data-dir is given, as in the systemd unit.
    env = script_env(HOTLINE_DATA_DIR=str(config.data_dir))
    for _ in range(2):
        ran = await run_script(BACKUP, "--to", backups, "--keep", "2", env=env)
        assert ran.returncode == 0, ran.output
    kept = backups_in(backups)
    assert len(kept) == 2 and first not in kept
    assert f"deleted 1: {first.name}" in ran.stdout
    assert sorted(p.name for p in backups.glob("*.sha256")) == [f"{p.name}.sha256" for p in kept]

    inside = await run_script(BACKUP, "--to", backups, "--key-to", backups / "keys", env=env)
    assert inside.returncode != 0 and "keep the key apart" in inside.stderr
    safe = tmp_path / "key-safe"
    saved = await run_script(BACKUP, "--to", backups, "--key-to", safe, env=env)
    assert saved.returncode == 0, saved.output
    assert (safe / "data.key").read_text() == _key_file(config).read_text()
    assert "saved to" in saved.stdout
    again = await run_script(BACKUP, "--to", backups, "--key-to", safe, env=env)
    assert again.returncode == 0 and "already saved" in again.stdout
    (safe / "data.key").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")
    differs = await run_script(BACKUP, "--to", backups, "--key-to", safe, env=env)
    assert differs.returncode != 0 and "DIFFERENT key" in differs.stderr


async def test_a_backup_of_nothing_fails_loudly(tmp_path: Path) -> None:
    """No database where it should be: a non-zero exit that says where it looked."""
    ran = await run_script(BACKUP, "--data-dir", tmp_path / "empty", "--to", tmp_path / "b")
    assert ran.returncode != 0 and "no database at" in ran.stderr
    assert not backups_in(tmp_path / "b")
    bad = await run_script(BACKUP, "--data-dir", tmp_path, "--keep", "0")
    assert bad.returncode != 0 and "--keep" in bad.stderr


@pytest.mark.parametrize("script", [BACKUP, RESTORE])
def test_the_scripts_are_executable_strict_bash(script: Path) -> None:
    """Cron and systemd run them directly; any failing command stops them; shellcheck finds
    nothing (unquoted paths, lost exit statuses)."""
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "\nset -euo pipefail\n" in text
    shellcheck = require_tool("shellcheck", "shellcheck")
    ran = subprocess.run(
        [shellcheck, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
