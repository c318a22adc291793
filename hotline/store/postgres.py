"""The store on PostgreSQL (asyncpg), for gateway processes on several machines.

The same interface and the same SQL as the SQLite store (`hotline.store.database`):
- `?` placeholders are rewritten to `$1..$n` once per statement text (cached);
- a write transaction is one pooled connection inside `BEGIN ... COMMIT` that first takes a
  transaction-scoped advisory lock shared by every process on the database, so write
  transactions never interleave, exactly as SQLite's `BEGIN IMMEDIATE` promises. The
  repositories' read-then-write steps (the audit chain's last hash, "already raised?",
  guarded state changes) rely on that promise. An asyncio lock in front of it keeps one
  process's writers from each holding a pooled connection while they wait their turn;
- committed reads go to the pool (READ COMMITTED: each statement sees what was committed);
- `numeric` results (SUM of BIGINT, AVG) come back as int or float like SQLite's, not as
  Decimal, so callers and JSON see the same values on both engines;
- ids chosen before an insert come from the table's identity sequence (`reserve_ids`).

Migrations are `migrations/postgres/NNNN_*.sql`, the same versions and names as SQLite's,
recorded in the same `schema_migrations` table, each applied in its own transaction under
the same advisory lock (two processes starting at once apply each migration once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]
import structlog

from hotline.clock import Clock, to_iso
from hotline.events import EventBus
from hotline.store.database import Database, Row, Transaction, available_migrations
from hotline.store.dialect import POSTGRESQL

log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key of the store's write lock ('hotline' in ASCII): every write
# transaction and every migration of every process takes it.
WRITE_LOCK = 0x686F746C696E65
# Like SQLite's busy_timeout: a writer waits this long for the lock (or any row lock), then
# its transaction fails instead of hanging behind a stuck one.
LOCK_TIMEOUT = "10s"
_TAKE_WRITE_LOCK = (
    f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
)
# How long `close` waits for connections still in use before it closes them anyway.
CLOSE_TIMEOUT_S = 10.0
POOL_MIN = 2
POOL_MAX = 10
# A server that does not answer (a host down, a cut network) must fail a request within
# Twilio's 15 s webhook limit, so the arrival is kept in the spool, not lost to a timeout.
CONNECT_TIMEOUT_S = 5
# Collations that order text by code point, as SQLite's BINARY does. Instants are stored as
# ISO 8601 text and compared as text; names sort alike on both engines only with these.
CODE_POINT_COLLATIONS = frozenset({"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"})


class _Status:
    """What `execute` reports on PostgreSQL: the rows a statement changed, from its tag."""

    def __init__(self, tag: str) -> None:
        last = tag.rsplit(" ", 1)[-1]
        self.rowcount = int(last) if last.isdigit() else -1


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """The statement with each `?` placeholder numbered `$1..$n` for PostgreSQL.

    A `?` inside a string literal, a quoted identifier or a comment is left alone. The
    result is cached: statements are the code's constants, or built from them with a
    bounded number of `?` (IN lists are chunked).
    """
    out: list[str] = []
    number = 0
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"":
            end = i + 1
            while end < n:
                if sql[end] == char:
                    if end + 1 < n and sql[end + 1] == char:  # '' or "" escapes itself
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1])
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end])
            i = end
        elif char == "?":
            number += 1
            out.append(f"${number}")
            i += 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _numeric(text: str) -> int | float:
    """A `numeric` value as SQLite would give it: an int when whole-valued by type (SUM of
    integers), else a float (AVG, division)."""
    if "." in text or "e" in text or "E" in text or text in ("NaN", "Infinity", "-Infinity"):
        return float(text)
    return int(text)


async def _setup_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "numeric", schema="pg_catalog", encoder=str, decoder=_numeric, format="text"
    )


class _ConnectionAdapter:
    """The aiosqlite calls some older code makes on `tx.conn`, answered by the transaction.

    For callers not yet moved to the portable methods (`tx.fetchall`, `tx.executemany`);
    new code must not use it.
    """

    def __init__(self, tx: PostgresTransaction) -> None:
        self._tx = tx

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> _Status:
        return await self._tx.execute(sql, params)

    async def execute_fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        return await self._tx.fetchall(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        await self._tx.executemany(sql, rows)


class PostgresTransaction(Transaction):
    """A write transaction on one pooled connection, under the store's advisory lock."""

    def __init__(self, connection: asyncpg.Connection, clock: Clock) -> None:
        self._conn = connection
        self.conn = _ConnectionAdapter(self)
        self.clock = clock
        self.dialect = POSTGRESQL
        self.events = []

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> _Status:
        """Run one statement inside the transaction."""
        return _Status(await self._conn.execute(translate(sql), *params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement once per row of parameters (pipelined by asyncpg)."""
        batch = [tuple(row) for row in rows]
        if batch:
            await self._conn.executemany(translate(sql), batch)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run a statement and return every row, as this transaction sees them."""
        return cast(list[Row], await self._conn.fetch(translate(sql), *params))

    async def reserve_ids(self, table: str, count: int) -> list[int]:
        """`count` values of the table's identity sequence (never given out again)."""
        if count <= 0:
            return []
        rows = await self._conn.fetch(
            "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
            table,
            count,
        )
        return sorted(int(row[0]) for row in rows)


class PostgresDatabase(Database):
    """A PostgreSQL database reached through a pool of connections."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, bus: EventBus) -> None:
        self._pool_ = pool
        self._closed = False
        self._lock = asyncio.Lock()
        self.clock = clock
        self.bus = bus
        self.dialect = POSTGRESQL
        self.errors = (
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            OSError,
            asyncio.TimeoutError,
        )
        self.unreachable = (
            asyncpg.PostgresConnectionError,
            asyncpg.exceptions.OperatorInterventionError,
            asyncpg.exceptions.TooManyConnectionsError,
            asyncpg.InterfaceError,
            OSError,
            asyncio.TimeoutError,
        )

    @classmethod
    async def open_url(cls, url: str, clock: Clock, bus: EventBus | None = None) -> Database:
        """Connect to the database at `url` and apply pending migrations."""
        pool = await asyncpg.create_pool(
            url,
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            init=_setup_connection,
            timeout=CONNECT_TIMEOUT_S,
        )
        db = cls(pool, clock, bus or EventBus())
        try:
            collation = await db.fetchval(
                "SELECT datcollate FROM pg_database WHERE datname = current_database()"
            )
            if collation not in CODE_POINT_COLLATIONS:
                # Instants still compare correctly (same format, same length); names and
                # other text may sort differently from SQLite. docs/storage.md says how to
                # create the database with LC_COLLATE 'C'.
                log.warning("postgres_collation_not_code_point", collation=collation)
            await db.migrate()
        except BaseException:
            await db.close()
            raise
        return db

    @property
    def _pool(self) -> asyncpg.Pool:
        """The pool; a closed store raises ValueError, as aiosqlite does, so callers that
        survive a failed pass (the background jobs) see the same error on both engines."""
        if self._closed:
            raise ValueError("the store is closed")
        return self._pool_

    async def close(self) -> None:
        """Close the pool: connections in use get a few seconds to be released, then are
        closed anyway (what they had open rolls back), so a stop never hangs."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._pool_.close(), CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("postgres_close_forced", waited_s=CLOSE_TIMEOUT_S)
            self._pool_.terminate()

    def terminate(self) -> None:
        """Close every connection now, without waiting for those in use (a test's cleanup
        after a failure; a process that must stop at once). The server rolls back what
        they had open."""
        if not self._closed:
            self._closed = True
            self._pool_.terminate()

    async def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints its WAL itself."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A serialised write transaction; commits on success, rolls back on any error."""
        async with self._lock, self._pool.acquire() as conn, conn.transaction():
            await conn.execute(_TAKE_WRITE_LOCK)
            tx = PostgresTransaction(conn, self.clock)
            yield tx
        for event in tx.events:
            self.bus.publish(event)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Read committed rows."""
        return cast(list[Row], await self._pool.fetch(translate(sql), *params))

    async def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied; return the versions applied now."""
        applied = []
        for version, name, sql in available_migrations("postgresql"):
            async with self._lock, self._pool.acquire() as conn, conn.transaction():
                await conn.execute(_TAKE_WRITE_LOCK)
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations"
                    " (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
                done = await conn.fetchval(
                    "SELECT 1 FROM schema_migrations WHERE version = $1", version
                )
                if done:
                    continue
                # No parameters: the simple protocol, so one migration may hold many
                # statements (and PL/pgSQL bodies); DDL is transactional here.
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    version,
                    name,
                    to_iso(self.clock.now()),
                )
            applied.append(version)
            log.info("migration_applied", version=version, migration=name)
        return applied

    async def table_names(self) -> list[str]:
        """The tables of the schema the connection uses."""
        rows = await self.fetchall(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            " ORDER BY table_name"
        )
        return [str(row[0]) for row in rows]

    async def reclaim_space(self, tables: Sequence[str]) -> bool:
        """VACUUM the purged tables, so the old row versions are gone from their pages.

        PostgreSQL cannot zero freed space as SQLite's `secure_delete` does: the bytes
        stay in free space until overwritten, and in WAL segments until they are recycled
        (docs/storage.md). The purged columns are sealed with the data key in any case.
        VACUUM cannot run inside a transaction: a pooled connection of its own.
        """
        names = [name for name in dict.fromkeys(tables) if name.replace("_", "").isalnum()]
        if not names:
            return True
        async with self._pool.acquire() as conn:
            await conn.execute("VACUUM " + ", ".join(names))
        return True
