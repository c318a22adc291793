"""Both migration sets build the same schema, and both refuse to rewrite history.

Each engine is asked about its own catalog (SQLite's pragmas and sqlite_master,
PostgreSQL's information_schema and pg_catalog) and the answers are compared after the
documented type mapping (docs/storage.md): INTEGER → bigint, TEXT → text, BLOB → bytea,
REAL → double precision.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pytest

from hotline import audit
from hotline.store.database import Database, available_migrations

TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea", "REAL": "double precision"}
# PostgreSQL also refuses TRUNCATE, which SQLite does not have.
POSTGRES_ONLY_TRIGGERS = {"events_no_truncate", "audit_log_no_truncate"}
_NOT_NAMES = {"is", "not", "null", "and", "or", "text", "bigint", "integer", "where"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None


@dataclass(frozen=True)
class Index:
    table: str
    unique: bool
    columns: tuple[str, ...]
    # The names and literals of a partial index's WHERE (empty: not partial).
    predicate: frozenset[str]


@dataclass
class Schema:
    columns: dict[str, list[Column]] = field(default_factory=dict)
    primary_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unique: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    foreign_keys: dict[str, set[tuple[str, str, str]]] = field(default_factory=dict)
    checks: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, Index] = field(default_factory=dict)
    triggers: set[str] = field(default_factory=set)


def _default(value: Any) -> str | None:
    """A column default as both engines would agree on it: no casts, no quotes on numbers."""
    if value is None:
        return None
    text = re.sub(r"::[a-z ]+$", "", str(value)).strip("()")
    if re.fullmatch(r"'-?\d+(\.\d+)?'", text):
        text = text.strip("'")
    return text


def _predicate(sql: str | None) -> frozenset[str]:
    if not sql:
        return frozenset()
    tokens = re.findall(r"'[^']*'|[a-z_][a-z0-9_]*", sql.lower())
    return frozenset(t for t in tokens if t not in _NOT_NAMES)


async def _sqlite_schema(db: Database) -> Schema:
    schema = Schema()
    tables = await db.fetchall(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in tables:
        name = table["name"]
        info = await db.fetchall(f"PRAGMA table_info({name})")
        schema.columns[name] = [
            Column(
                r["name"],
                TYPES[r["type"]],
                bool(r["notnull"]) or r["pk"] > 0,
                _default(r["dflt_value"]),
            )
            for r in info
        ]
        schema.primary_keys[name] = tuple(
            r["name"] for r in sorted((r for r in info if r["pk"]), key=lambda r: r["pk"])
        )
        schema.unique[name] = set()
        for index in await db.fetchall(f"PRAGMA index_list({name})"):
            if index["origin"] == "u":
                cols = await db.fetchall(f"PRAGMA index_info({index['name']})")
                schema.unique[name].add(tuple(c["name"] for c in cols))
        schema.foreign_keys[name] = {
            (r["from"], r["table"], r["to"])
            for r in await db.fetchall(f"PRAGMA foreign_key_list({name})")
        }
        schema.checks[name] = len(re.findall(r"\bCHECK\s*\(", table["sql"]))
    for index in await db.fetchall(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    ):
        xinfo = await db.fetchall(f"PRAGMA index_xinfo({index['name']})")
        columns = tuple(
            (r["name"] or "<expression>") + (" DESC" if r["desc"] else "")
            for r in xinfo
            if r["key"]
        )
        where = index["sql"].split(" WHERE ", 1)
        schema.indexes[index["name"]] = Index(
            index["tbl_name"],
            index["sql"].startswith("CREATE UNIQUE"),
            columns,
            _predicate(where[1] if len(where) == 2 else None),
        )
    triggers = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    schema.triggers = {r["name"] for r in triggers}
    return schema


def _index_columns(definition: str) -> tuple[str, ...]:
    """The key columns of `CREATE INDEX ... USING btree (a DESC, b, (1)) WHERE ...`."""
    inside = definition.split(" USING btree (", 1)[1]
    depth, current, columns = 0, "", []
    for char in inside:
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            columns.append(current.strip())
            current = ""
        else:
            current += char
    columns.append(current.strip())
    return tuple(
        "<expression>" + (" DESC" if c.endswith(" DESC") else "") if c.startswith("(") else c
        for c in columns
    )


async def _postgres_schema(db: Database) -> Schema:
    schema = Schema()
    for name in await db.table_names():
        rows = await db.fetchall(
            "SELECT column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (name,),
        )
        schema.columns[name] = [
            Column(r[0], r[1], r[2] == "NO", _default(r[3])) for r in rows
        ]
        constraints = await db.fetchall(
            "SELECT CAST(k.contype AS TEXT), pg_get_constraintdef(k.oid) FROM pg_constraint k"
            " JOIN pg_class t ON t.oid = k.conrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = current_schema() AND t.relname = ?",
            (name,),
        )
        schema.unique[name] = set()
        schema.foreign_keys[name] = set()
        schema.checks[name] = 0
        for kind, definition in constraints:
            if kind == "p":
                schema.primary_keys[name] = _key_columns(definition)
            elif kind == "u":
                schema.unique[name].add(_key_columns(definition))
            elif kind == "f":
                found = re.fullmatch(r"FOREIGN KEY \((\w+)\) REFERENCES (\w+)\((\w+)\)", definition)
                assert found, definition
                schema.foreign_keys[name].add(found.groups())  # type: ignore[arg-type]
            elif kind == "c":
                schema.checks[name] += 1
        schema.primary_keys.setdefault(name, ())
    for r in await db.fetchall(
        "SELECT c.relname, t.relname, i.indisunique, pg_get_indexdef(i.indexrelid),"
        " pg_get_expr(i.indpred, i.indrelid)"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname = current_schema()"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    ):
        schema.indexes[r[0]] = Index(r[1], r[2], _index_columns(r[3]), _predicate(r[4]))
    schema.triggers = {
        r[0]
        for r in await db.fetchall(
            "SELECT g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " WHERE n.nspname = current_schema() AND NOT g.tgisinternal"
        )
    }
    return schema


def _key_columns(definition: str) -> tuple[str, ...]:
    found = re.match(r"(?:PRIMARY KEY|UNIQUE) \(([^)]*)\)", definition)
    assert found, definition
    return tuple(c.strip() for c in found.group(1).split(","))


def test_every_sqlite_migration_has_its_postgresql_twin() -> None:
    """Same versions, same names: `schema_migrations` reads alike on both engines."""
    sqlite = [(v, n) for v, n, _ in available_migrations("sqlite")]
    postgres = [(v, n) for v, n, _ in available_migrations("postgresql")]
    assert sqlite == postgres
    assert [v for v, _ in sqlite] == list(range(1, len(sqlite) + 1))
    folder = resources.files("hotline.store") / "migrations"
    assert (folder / "postgres").is_dir()


async def test_both_migration_sets_build_the_same_schema(
    sqlite_db: Database, postgres_db: Database
) -> None:
    """Tables, columns (type, NOT NULL, default), keys, foreign keys, CHECK constraints and
    indexes (partial ones with the same condition) match after the type mapping."""
    lite, pg = await _sqlite_schema(sqlite_db), await _postgres_schema(postgres_db)
    assert sorted(lite.columns) == sorted(pg.columns) == await postgres_db.table_names()
    for table in lite.columns:
        assert lite.columns[table] == pg.columns[table], table
        assert lite.primary_keys[table] == pg.primary_keys[table], table
        assert lite.unique[table] == pg.unique[table], table
        assert lite.foreign_keys[table] == pg.foreign_keys[table], table
        assert lite.checks[table] == pg.checks[table], table
    assert lite.indexes == pg.indexes
    assert pg.triggers == lite.triggers | POSTGRES_ONLY_TRIGGERS
    assert {"events_no_update", "events_no_delete"} <= lite.triggers


async def test_both_record_the_same_migrations(
    sqlite_db: Database, postgres_db: Database
) -> None:
    """Each migration applied once, under the same version and name, on both engines."""
    sql = "SELECT version, name FROM schema_migrations ORDER BY version"
    lite = [tuple(r) for r in await sqlite_db.fetchall(sql)]
    assert lite == [tuple(r) for r in await postgres_db.fetchall(sql)]
    assert lite == [(v, n) for v, n, _ in available_migrations()]
    assert await sqlite_db.migrate() == [] and await postgres_db.migrate() == []


HISTORY = pytest.mark.parametrize(
    ("table", "message"),
    [("events", "the event log is append-only"), ("audit_log", "the audit trail is append-only")],
)


@HISTORY
async def test_sqlite_refuses_to_rewrite_history(
    sqlite_db: Database, table: str, message: str
) -> None:
    """SQLite's triggers refuse UPDATE and DELETE of the event log and the audit trail."""
    await _refuses_to_rewrite(sqlite_db, table, message, ["UPDATE", "DELETE"])


@HISTORY
async def test_postgresql_refuses_to_rewrite_history(
    postgres_db: Database, table: str, message: str
) -> None:
    """PostgreSQL's triggers refuse the same, with the same message, and TRUNCATE too."""
    await _refuses_to_rewrite(postgres_db, table, message, ["UPDATE", "DELETE", "TRUNCATE"])


async def _refuses_to_rewrite(db: Database, table: str, message: str, verbs: list[str]) -> None:
    async with db.transaction() as tx:
        await tx.append_event("test.happened", "test:1", "system", {})
        await audit.record(tx, actor="system", action="test", subject="test:1", purpose="test")
    statements = {
        "UPDATE": f"UPDATE {table} SET actor = 'someone'",
        "DELETE": f"DELETE FROM {table}",
        "TRUNCATE": f"TRUNCATE {table}",
    }
    for verb in verbs:
        with pytest.raises(db.errors, match=message):
            async with db.transaction() as tx:
                await tx.execute(statements[verb])
    assert await db.fetchval(f"SELECT actor FROM {table}") == "system"
    assert (await audit.verify(db)).intact
