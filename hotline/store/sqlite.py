"""The embedded store: SQLite in WAL mode, numbered migrations, serialised write transactions.

One writer connection behind an asyncio lock carries every change, so a transaction of one
coroutine never interleaves with another's; a separate reader connection sees only committed
data. Cross-process safety (two processes on one file) comes from SQLite's own locking:
`BEGIN IMMEDIATE` takes the write lock up front, and `busy_timeout` waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from hotline.clock import Clock, to_iso
from hotline.events import EventBus
from hotline.store.database import Database, Row, Transaction, available_migrations
from hotline.store.dialect import SQLITE

log = structlog.get_logger(__name__)

BACKSTOP_CHECKPOINT_PAGES = 10_000
CHECKPOINT_BUSY_MS = 10_000


class SqliteTransaction(Transaction):
    """A write transaction on the writer connection, under the write lock."""

    def __init__(self, conn: aiosqlite.Connection, clock: Clock) -> None:
        self.conn = conn
        self.clock = clock
        self.dialect = SQLITE
        self.events = []

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """Run one statement inside the transaction."""
        cursor: aiosqlite.Cursor = await self.conn.execute(sql, tuple(params))
        return cursor

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement once per row of parameters."""
        await self.conn.executemany(sql, [tuple(row) for row in rows])

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run a statement and return every row (one trip to SQLite's thread, not three)."""
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def reserve_ids(self, table: str, count: int) -> list[int]:
        """The next `count` ids after the largest ever given (write lock held: nobody else
        can take them). sqlite_sequence keeps AUTOINCREMENT's never-reuse promise for the
        tables that have it; for the others the largest id present is the largest given."""
        if count <= 0:
            return []
        first = int(
            await self.fetchval(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),"
                f" COALESCE((SELECT MAX(id) FROM {_table(table)}), 0)) + 1",
                (table,),
            )
        )
        return list(range(first, first + count))

    @contextlib.asynccontextmanager
    async def secure_delete(self) -> AsyncIterator[None]:
        """Freed space is overwritten with zeros while inside; the connection's own setting
        comes back after, so the other writes pay no extra cost."""
        secure = await self.fetchval("PRAGMA secure_delete")
        await self.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            await self.execute(f"PRAGMA secure_delete = {int(secure or 0)}")


class SqliteDatabase(Database):
    """The open SQLite file of one data directory."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        maintenance: aiosqlite.Connection,
        clock: Clock,
        bus: EventBus,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._maintenance = maintenance
        self._lock = asyncio.Lock()
        self.clock = clock
        self.bus = bus
        self.dialect = SQLITE
        self.errors = (sqlite3.Error,)

    @classmethod
    async def open_file(cls, path: Path, clock: Clock, bus: EventBus | None = None) -> Database:
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
        db = cls(path, writer, reader, maintenance, clock, bus or EventBus())
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
            tx = SqliteTransaction(self._writer, self.clock)
            try:
                yield tx
            except BaseException:
                await self._writer.rollback()
                raise
            await self._writer.commit()
        for event in tx.events:
            self.bus.publish(event)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Read committed rows."""
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

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
            for version, name, sql in available_migrations("sqlite"):
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

    async def table_names(self) -> list[str]:
        """The tables, without SQLite's own (sqlite_sequence)."""
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " ORDER BY name"
        )
        return [str(row[0]) for row in rows]

    async def reclaim_space(self, tables: Sequence[str]) -> bool:
        """Copy the WAL into the database file and empty it; True when it could be done now.

        Purged pages were zeroed in the database file (`secure_delete`), but the WAL still
        holds the pages as they were before. A connection of its own: the store's are busy
        with their own work, and a checkpoint cannot run inside a transaction. It waits for
        readers up to the busy timeout.
        """
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {CHECKPOINT_BUSY_MS}")
            async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                result = await cursor.fetchone()
        finally:
            await conn.close()
        done = result is not None and result[0] == 0
        if not done:
            log.warning("retention_checkpoint_busy")
        return done


def _table(name: str) -> str:
    """A table name spliced into SQL: only plain names (they are the code's constants)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {name!r}")
    return name


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
