"""The store's interface behaves the same on both engines (run in each pass on its engine)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from hotline.clock import ManualClock, to_iso
from hotline.config import Config, DatabaseConfig
from hotline.events import Event
from hotline.store.database import DB_FILE, Database
from hotline.store.engine import open_database, store_label
from hotline.store.postgres import PostgresDatabase, translate
from hotline.store.sqlite import SqliteDatabase
from tests.store.harness import PostgresStores


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT ?", "SELECT $1"),
        ("UPDATE t SET a = ?, b = ? WHERE id = ?", "UPDATE t SET a = $1, b = $2 WHERE id = $3"),
        ("SELECT '?' || ? FROM t", "SELECT '?' || $1 FROM t"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', $1"),
        ('SELECT "odd?name" FROM t WHERE a = ?', 'SELECT "odd?name" FROM t WHERE a = $1'),
        ("SELECT a -- why?\nFROM t WHERE b = ?", "SELECT a -- why?\nFROM t WHERE b = $1"),
        ("SELECT /* ? */ a FROM t WHERE b = ?", "SELECT /* ? */ a FROM t WHERE b = $1"),
    ],
)
def test_placeholders_are_numbered_outside_literals_and_comments(sql: str, expected: str) -> None:
    """`?` becomes `$n` in order; a `?` in a string, a quoted name or a comment stays."""
    assert translate(sql) == expected


async def test_the_config_chooses_the_engine(store: Database, config: Config) -> None:
    """`open_database` opens what `[database] engine` names."""
    expected = PostgresDatabase if config.database.engine == "postgresql" else SqliteDatabase
    assert isinstance(store, expected) and store.dialect.name == config.database.engine
    assert await store.ping()


def test_the_label_names_the_store_without_credentials(config: Config) -> None:
    """What `hotline db migrate` prints: the file, or the server and database, no password."""
    lite = replace(config, database=DatabaseConfig())
    assert store_label(lite) == f"database {config.data_dir / DB_FILE}"
    pg = replace(
        config,
        database=DatabaseConfig("postgresql", "postgresql://hotline:s3cret@db.internal:5433/hl"),
    )
    assert store_label(pg) == "PostgreSQL database hl on db.internal:5433"


async def test_events_get_increasing_ids_and_publish_only_after_commit(store: Database) -> None:
    """Single and batched appends get increasing ids, published once committed; a rolled-
    back transaction publishes nothing and leaves nothing."""
    async with store.bus.subscribe() as subscription:
        async with store.transaction() as tx:
            first = await tx.append_event("test.one", "test:1", "system", {"n": 1})
            await tx.append_events(
                [("test.two", "test:1", "system", {"n": 2}), ("test.three", "test:2", "x", {})]
            )
            assert [e.id for e in tx.events] == [first.id, first.id + 1, first.id + 2]
            assert subscription.drain() == []
        with pytest.raises(RuntimeError):
            async with store.transaction() as tx:
                await tx.append_event("test.lost", "test:1", "system")
                raise RuntimeError("abandon")
        after = await _append(store, "test.four")
        seen = subscription.drain()
    assert [e.kind for e in seen] == ["test.one", "test.two", "test.three", "test.four"]
    assert after.id > first.id + 2
    history = await store.events_for("test:1")
    assert [(e.kind, e.data) for e in history] == [
        ("test.one", {"n": 1}),
        ("test.two", {"n": 2}),
    ]


async def _append(store: Database, kind: str) -> Event:
    async with store.transaction() as tx:
        return await tx.append_event(kind, "test:3", "system")


async def test_reserved_ids_are_used_and_the_store_continues_after_them(store: Database) -> None:
    """Ids reserved for explicit inserts are increasing; a later insert that lets the store
    choose its id comes after them."""
    async with store.transaction() as tx:
        ids = await tx.reserve_ids("timers", 3)
        assert ids == sorted(ids) and len(set(ids)) == 3
        await tx.executemany(
            "INSERT INTO timers (id, kind, subject, due_at, created_at) VALUES (?, ?, ?, ?, ?)",
            [(i, "test", f"s:{i}", "2026-01-01", "2026-01-01") for i in ids],
        )
        chosen = await tx.fetchval(
            "INSERT INTO timers (kind, subject, due_at, created_at) VALUES (?, ?, ?, ?)"
            " RETURNING id",
            ("test", "s:next", "2026-01-01", "2026-01-01"),
        )
        assert await tx.reserve_ids("timers", 0) == []
    assert chosen > ids[-1]
    assert await store.fetchval("SELECT COUNT(*) FROM timers") == 4


async def test_rowcounts_and_conflicts(store: Database) -> None:
    """`execute` reports the rows changed, and ON CONFLICT DO NOTHING changes none."""
    async with store.transaction() as tx:
        added = await tx.execute(
            "INSERT INTO sms_opt_outs (caller_hash, at) VALUES (?, ?), (?, ?)",
            ("a", "2026-01-01", "b", "2026-01-01"),
        )
        again = await tx.execute(
            "INSERT INTO sms_opt_outs (caller_hash, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            ("a", "2026-02-02"),
        )
        changed = await tx.execute(
            "UPDATE sms_opt_outs SET at = ? WHERE caller_hash <> ?", ("x", "z")
        )
        gone = await tx.execute("DELETE FROM sms_opt_outs WHERE caller_hash = ?", ("b",))
    assert (added.rowcount, again.rowcount, changed.rowcount, gone.rowcount) == (2, 0, 2, 1)


async def test_aggregates_come_back_as_sqlite_gives_them(store: Database) -> None:
    """SUM of integers is an int, AVG a float, COUNT an int (not PostgreSQL's Decimal)."""
    async with store.transaction() as tx:
        await tx.executemany(
            "INSERT INTO timers (kind, subject, due_at, created_at) VALUES (?, ?, ?, ?)",
            [("test", f"s:{i}", "2026-01-01", "2026-01-01") for i in range(4)],
        )
    row = await store.fetchone("SELECT SUM(id) AS s, AVG(id) AS a, COUNT(*) AS n FROM timers")
    assert row is not None
    assert (type(row["s"]), type(row["a"]), type(row["n"])) == (int, float, int)
    assert (row["s"], row["a"], row["n"]) == (10, 2.5, 4)


async def test_the_dialect_fragments_agree(store: Database, clock: ManualClock) -> None:
    """The few engine-specific fragments give the same answers on both engines."""
    start = clock.now()
    stamp = to_iso(start)
    d = store.dialect
    async with store.transaction() as tx:
        timer_id = await tx.fetchval(
            "INSERT INTO timers (kind, subject, due_at, data, created_at) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            ("test", "user:42", to_iso(start + timedelta(minutes=90)), '{"step": 1}', stamp),
        )
        await tx.execute(
            f"UPDATE timers SET data = {d.json_with_true('data', 'cancelled')} WHERE id = ?",
            (timer_id,),
        )
    row = await store.fetchone(
        f"SELECT {d.json_text('data', 'step')} AS step, {d.json_text('data', 'none')} AS none,"
        f" {d.seconds_between('due_at', 'created_at')} AS seconds,"
        f" {d.id_after_prefix('subject', 'user:')} AS user_id,"
        f" {d.id_after_prefix('kind', 'user:')} AS not_a_user, data FROM timers WHERE id = ?",
        (timer_id,),
    )
    assert row is not None
    assert (row["step"], row["none"], row["user_id"], row["not_a_user"]) == ("1", None, 42, None)
    assert row["seconds"] == pytest.approx(5400, abs=0.01)
    assert json.loads(row["data"]) == {"step": 1, "cancelled": True}
    pending = await store.fetchval(
        f"SELECT COUNT(*) FROM {d.indexed_by('timers', 'timers_due')}"
        " WHERE fired_at IS NULL AND due_at > ?",
        (stamp,),
    )
    assert pending == 1


async def test_secure_delete_and_reclaiming_space(store: Database) -> None:
    """The purge's hooks run on both engines (what each does is in docs/storage.md)."""
    async with store.transaction() as tx:
        await tx.execute(
            "INSERT INTO sms_opt_outs (caller_hash, at) VALUES (?, ?)", ("gone", "2026-01-01")
        )
    async with store.transaction() as tx, tx.secure_delete():
        await tx.execute("DELETE FROM sms_opt_outs")
    assert await store.reclaim_space(["sms_opt_outs"]) is True
    assert await store.fetchval("SELECT COUNT(*) FROM sms_opt_outs") == 0
    assert {"contacts", "events", "schema_migrations"} <= set(await store.table_names())


async def test_a_closed_store_says_so(config: Config, clock: ManualClock) -> None:
    """After close: ping is False, and use raises ValueError on both engines (the
    background jobs log it and survive)."""
    db = await open_database(config, clock)
    await db.close()
    assert await db.ping() is False
    with pytest.raises(ValueError):
        await db.fetchval("SELECT 1")


async def test_write_transactions_of_two_processes_never_interleave(
    config: Config, clock: ManualClock
) -> None:
    """Two stores on the same data (as two gateway processes have): a write transaction
    of one waits until the other's commits, so read-then-write steps stay correct."""
    first, second = await open_database(config, clock), await open_database(config, clock)
    try:
        inside = asyncio.Event()
        release = asyncio.Event()
        order: list[str] = []

        async def hold() -> None:
            async with first.transaction() as tx:
                await tx.execute(
                    "INSERT INTO sms_opt_outs (caller_hash, at) VALUES (?, ?)", ("h", "1")
                )
                inside.set()
                await release.wait()
                order.append("first commits")

        async def wait_turn() -> None:
            await inside.wait()
            async with second.transaction() as tx:
                order.append("second begins")
                seen = await tx.fetchval("SELECT COUNT(*) FROM sms_opt_outs")
                assert seen == 1

        holder, waiter = asyncio.create_task(hold()), asyncio.create_task(wait_turn())
        await inside.wait()
        await asyncio.sleep(0.3)
        assert order == []  # the second writer is still waiting for the lock
        release.set()
        await asyncio.gather(holder, waiter)
        assert order == ["first commits", "second begins"]
    finally:
        await first.close()
        await second.close()


async def test_two_processes_starting_at_once_migrate_once(
    postgres_stores_or_skip: PostgresStores, clock: ManualClock
) -> None:
    """Gateways starting together on an empty PostgreSQL database apply each migration
    once (the migration takes the store's lock and looks again)."""
    url = postgres_stores_or_skip.empty_url()
    opened = await asyncio.gather(*(PostgresDatabase.open_url(url, clock) for _ in range(3)))
    try:
        rows = await opened[0].fetchall("SELECT version FROM schema_migrations ORDER BY version")
        versions = [r[0] for r in rows]
        assert versions == sorted(set(versions)) and len(versions) >= 14
    finally:
        for db in opened:
            await db.close()


async def test_an_unreachable_server_is_reported_not_raised(
    postgres_stores_or_skip: PostgresStores, tmp_path: Path, clock: ManualClock
) -> None:
    """`ping` says False when the server goes away (the health check's question)."""
    url = postgres_stores_or_skip.url_for(tmp_path / "gone")
    db = await PostgresDatabase.open_url(url, clock)
    try:
        postgres_stores_or_skip.drop_all()  # ends its connections, as a server restart would
        await asyncio.sleep(0.5)
        assert await db.ping() is False
    finally:
        assert isinstance(db, PostgresDatabase)
        db.terminate()
