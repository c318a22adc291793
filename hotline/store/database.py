"""The SQLite database: WAL mode, numbered migrations, and serialised write transactions.

One writer connection behind an asyncio lock carries every change, so a transaction of one
coroutine never interleaves with another's; a separate reader connection sees only committed
data. Cross-process safety (two processes on one file) comes from SQLite's own locking:
`BEGIN IMMEDIATE` takes the write lock up front, and `busy_timeout` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from hotline.clock import Clock, from_iso, to_iso
from hotline.events import Event, EventBus

log = structlog.get_logger(__name__)

DB_FILE = "hotline.sqlite3"
BACKSTOP_CHECKPOINT_PAGES = 10_000


class Transaction:
    """A write transaction in progress; events appended here publish after commit."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.events: list[Event] = []

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one statement inside the transaction."""
        return await self.conn.execute(sql, tuple(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Run a statement and return every row, as this transaction sees them."""
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Run a statement and return its first row (one trip to SQLite's thread, not three)."""
        rows = list(await self.conn.execute_fetchall(sql, tuple(params)))
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Run a statement and return the first column of its first row."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def append_events(self, events: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Append many (kind, subject, actor, data) events in one statement, for group commits."""
        if not events:
            return
        at = self.clock.now()
        # The ids are chosen here, under the write lock, so the published events carry the
        # ids the rows got; sqlite_sequence keeps AUTOINCREMENT's never-reuse promise.
        first = int(
            await self.fetchval(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),"
                " COALESCE((SELECT MAX(id) FROM events), 0)) + 1"
            )
        )
        rows = [
            (first + offset, to_iso(at), actor, kind, subject, json.dumps(data, ensure_ascii=False))
            for offset, (kind, subject, actor, data) in enumerate(events)
        ]
        await self.conn.executemany(
            "INSERT INTO events (id, at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        for offset, (kind, subject, actor, data) in enumerate(events):
            self.events.append(Event(first + offset, at, actor, kind, subject, data))

    async def append_event(
        self, kind: str, subject: str, actor: str, data: dict[str, Any] | None = None
    ) -> Event:
        """Append to the event log; the event is published once the transaction commits."""
        at = self.clock.now()
        payload = data or {}
        cursor = await self.conn.execute(
            "INSERT INTO events (at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?)",
            (to_iso(at), actor, kind, subject, json.dumps(payload, ensure_ascii=False)),
        )
        assert cursor.lastrowid is not None
        event = Event(cursor.lastrowid, at, actor, kind, subject, payload)
        self.events.append(event)
        return event


class Database:
    """The open store of one data directory."""

    def __init__(
        self,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        maintenance: aiosqlite.Connection,
        clock: Clock,
        bus: EventBus,
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._maintenance = maintenance
        self._lock = asyncio.Lock()
        self.clock = clock
        self.bus = bus

    @classmethod
    async def open(cls, path: Path, clock: Clock, bus: EventBus | None = None) -> Database:
        """Open (creating if needed) the database file and apply pending migrations."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path)
        # Checkpoints copy the WAL back into the database file and fsync it. Left to SQLite,
        # that happens inside the commit that crosses the threshold, and that commit's
        # caller waits (the 99th-percentile take-next did). The sweeper checkpoints on a
        # connection of its own instead; the large threshold is only a backstop.
        await writer.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_CHECKPOINT_PAGES}")
        reader = await _connect(path)
        maintenance = await _connect(path)
        db = cls(writer, reader, maintenance, clock, bus or EventBus())
        try:
            await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connections (the WAL is checkpointed by SQLite on last close)."""
        await self._maintenance.close()
        await self._reader.close()
        await self._writer.close()

    async def checkpoint(self) -> None:
        """Copy committed WAL frames into the database file without blocking the writer."""
        await self._maintenance.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A serialised write transaction; commits on success, rolls back on any error."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            tx = Transaction(self._writer, self.clock)
            try:
                yield tx
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()
        for event in tx.events:
            self.bus.publish(event)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Read committed rows."""
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """Read the first committed row, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Read a single committed value."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied; return the versions applied now."""
        async with self._lock:
            await self._writer.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            await self._writer.commit()
            async with self._writer.execute("SELECT version FROM schema_migrations") as cursor:
                done = {row[0] for row in await cursor.fetchall()}
            applied = []
            for version, name, sql in available_migrations():
                if version in done:
                    continue
                # executescript commits first; the whole migration then runs as one script
                # wrapped in its own transaction so a failure leaves no half-applied schema.
                await self._writer.executescript(
                    "BEGIN IMMEDIATE;\n" + sql + "\n;INSERT INTO schema_migrations VALUES "
                    f"({version}, '{name}', '{to_iso(self.clock.now())}');\nCOMMIT;"
                )
                applied.append(version)
                log.info("migration_applied", version=version, migration=name)
            return applied

    async def events_for(self, subject: str) -> list[Event]:
        """The history of one subject, oldest first."""
        rows = await self.fetchall(
            "SELECT id, at, actor, kind, subject, data FROM events WHERE subject = ? ORDER BY id",
            (subject,),
        )
        return [
            Event(
                r["id"],
                from_iso(r["at"]),
                r["actor"],
                r["kind"],
                r["subject"],
                json.loads(r["data"]),
            )
            for r in rows
        ]

    async def ping(self) -> bool:
        """True when the database answers a query."""
        return bool(await self.fetchval("SELECT 1") == 1)


async def _connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode: a power cut can lose the last transactions, a process crash cannot.
    await conn.execute("PRAGMA synchronous=NORMAL")
    await conn.execute("PRAGMA foreign_keys=ON")
    await conn.execute("PRAGMA busy_timeout=10000")
    # Deleted and overwritten content is zeroed, not left in free pages: a purged number's
    # ciphertext must not linger in the file (some SQLite builds default to off).
    await conn.execute("PRAGMA secure_delete=ON")
    return conn


def available_migrations() -> list[tuple[int, str, str]]:
    """The bundled migrations as (version, name, sql), in order."""
    folder = resources.files("hotline.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found)
