"""The store's interface: write transactions with an event log, committed reads, migrations.

Two engines implement it: SQLite (`hotline.store.sqlite`, the embedded default: one file in
the data directory) and PostgreSQL (`hotline.store.postgres`, for gateways on several
machines). `hotline.store.engine.open_database` picks one from the config. Repositories see
only this interface and write portable SQL (docs/storage.md): `?` placeholders,
`INSERT ... RETURNING id`, `ON CONFLICT`, `reserve_ids` for ids chosen before an insert, and
`dialect` for the few fragments the engines spell differently.

Both engines keep one promise the domain code relies on: write transactions never
interleave. A transaction takes the store's write lock when it begins (SQLite's
`BEGIN IMMEDIATE`; a PostgreSQL advisory lock shared by every process), so what a
transaction reads it can act on without another writer changing it in between. Events
appended inside a transaction are published on the bus only after it commits.
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from hotline.clock import Clock, from_iso, to_iso
from hotline.events import Event, EventBus
from hotline.store.dialect import Dialect, EngineName

DB_FILE = "hotline.sqlite3"


class Row(Protocol):
    """A result row: by column name or position (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> Iterable[str]: ...


class Executed(Protocol):
    """What a statement run for its effect reports: how many rows it changed."""

    @property
    def rowcount(self) -> int: ...


class Transaction(abc.ABC):
    """A write transaction in progress, holding the write lock; events appended here
    publish after commit."""

    clock: Clock
    dialect: Dialect
    events: list[Event]
    # The engine's own connection (aiosqlite, or on PostgreSQL an adapter). Only for
    # engine-specific code such as the SQLite benchmarks; portable code uses the methods.
    conn: Any

    @abc.abstractmethod
    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Executed:
        """Run one statement inside the transaction."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        """Run one statement once per row of parameters."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Run a statement and return every row, as this transaction sees them."""

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """Run a statement and return its first row."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Run a statement and return the first column of its first row."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abc.abstractmethod
    async def reserve_ids(self, table: str, count: int) -> list[int]:
        """Ids for `count` new rows of `table` (its `id` column), in increasing order.

        For inserts that must know their ids first: a multi-row insert, or a row whose
        sealed text is bound to its own id. No other row gets them, and later inserts that
        let the store choose (`INSERT ... RETURNING id`) come after them. (If the
        transaction rolls back, SQLite may give the same ids again, PostgreSQL skips them:
        nothing was written with them either way.)
        """

    @contextlib.asynccontextmanager
    async def secure_delete(self) -> AsyncIterator[None]:
        """Statements run inside overwrite what they delete, where the engine can do that
        (SQLite's `secure_delete`); see `Database.reclaim_space` for the rest."""
        yield

    async def append_events(self, events: Sequence[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Append many (kind, subject, actor, data) events in one statement, for group commits."""
        if not events:
            return
        at = self.clock.now()
        # The ids are reserved first so the published events carry the ids the rows got.
        ids = await self.reserve_ids("events", len(events))
        stamp = to_iso(at)
        await self.executemany(
            "INSERT INTO events (id, at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (event_id, stamp, actor, kind, subject, json.dumps(data, ensure_ascii=False))
                for event_id, (kind, subject, actor, data) in zip(ids, events, strict=True)
            ],
        )
        for event_id, (kind, subject, actor, data) in zip(ids, events, strict=True):
            self.events.append(Event(event_id, at, actor, kind, subject, data))

    async def append_event(
        self, kind: str, subject: str, actor: str, data: dict[str, Any] | None = None
    ) -> Event:
        """Append to the event log; the event is published once the transaction commits."""
        at = self.clock.now()
        payload = data or {}
        event_id = await self.fetchval(
            "INSERT INTO events (at, actor, kind, subject, data) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            (to_iso(at), actor, kind, subject, json.dumps(payload, ensure_ascii=False)),
        )
        event = Event(int(event_id), at, actor, kind, subject, payload)
        self.events.append(event)
        return event


class Database(abc.ABC):
    """The open store."""

    clock: Clock
    bus: EventBus
    dialect: Dialect
    # The exceptions this engine raises when the store cannot be reached or fails.
    errors: tuple[type[BaseException], ...]
    # The subset that means "the store does not answer" (a server down, a network cut), not
    # "this statement was wrong": what an arrival is kept on local disk for (hotline.spool).
    # Empty for the embedded store, which lives on the same disk as that spool would.
    unreachable: tuple[type[BaseException], ...] = ()

    @classmethod
    async def open(cls, path: Path, clock: Clock, bus: EventBus | None = None) -> Database:
        """Open (creating if needed) the SQLite file at `path` and apply pending migrations.

        The embedded store at a path, as before there were two engines; code that follows
        the config calls `hotline.store.engine.open_database` instead.
        """
        from hotline.store.sqlite import SqliteDatabase

        return await SqliteDatabase.open_file(path, clock, bus)

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the connections."""

    @abc.abstractmethod
    async def checkpoint(self) -> None:
        """Periodic housekeeping of the engine's log (SQLite's WAL); may be a no-op."""

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """A serialised write transaction; commits on success, rolls back on any error."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        """Read committed rows."""

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row | None:
        """Read the first committed row, or None."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """Read a single committed value."""
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    @abc.abstractmethod
    async def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied; return the versions applied now."""

    @abc.abstractmethod
    async def table_names(self) -> list[str]:
        """The store's tables (schema_migrations included), sorted: for tools that walk
        every table (a test's snapshot, a check of the schema) on either engine."""

    @abc.abstractmethod
    async def reclaim_space(self, tables: Sequence[str]) -> bool:
        """After a purge: make the purged bytes leave the engine's files as far as it can;
        True when that was done now (False: it happens at the next chance)."""

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
        """True when the database answers a query; False when it cannot be reached (or was
        closed: ValueError on both engines)."""
        unreachable: tuple[type[BaseException], ...] = (*self.errors, ValueError)
        try:
            return bool(await self.fetchval("SELECT 1") == 1)
        except unreachable:
            return False


def available_migrations(engine: EngineName = "sqlite") -> list[tuple[int, str, str]]:
    """The bundled migrations of an engine as (version, name, sql), in order.

    Both engines have the same versions with the same names (`migrations/NNNN_name.sql`
    and `migrations/postgres/NNNN_name.sql`), so `schema_migrations` reads alike in both.
    """
    folder = resources.files("hotline.store") / "migrations"
    if engine == "postgresql":
        folder = folder / "postgres"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name.removesuffix(".sql"), entry.read_text("utf-8")))
    return sorted(found)
