"""The few SQL fragments that cannot be written once for both engines.

Everything else the repositories write is portable SQL (docs/storage.md has the rules):
`?` placeholders, `RETURNING`, `ON CONFLICT`, `CASE` instead of scalar `MAX(a, b)`. What is
left is here, one method per need, so a reader sees every difference in one place: the
SQLite index hint the queue relies on, reading a key of a JSON text column, setting one,
and the time between two stored instants.

Column names and keys passed in are the code's own constants, never user input.
"""

from __future__ import annotations

import re
from typing import Literal

EngineName = Literal["sqlite", "postgresql"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _checked(key: str) -> str:
    """A JSON key spliced into SQL: only plain names, so it can never carry SQL."""
    if not _KEY.match(key):
        raise ValueError(f"not a plain JSON key: {key!r}")
    return key


def _checked_prefix(prefix: str) -> str:
    """A code prefix spliced into SQL (and a regular expression): letters, digits, `_`, `:`."""
    if not prefix.replace("_", "").replace(":", "").isalnum():
        raise ValueError(f"not a plain code prefix: {prefix!r}")
    return prefix


class Dialect:
    """SQLite's spelling; `PostgresDialect` overrides what PostgreSQL spells differently."""

    name: EngineName = "sqlite"

    def indexed_by(self, table: str, index: str) -> str:
        """`table` read through `index`.

        SQLite without statistics may pick a worse index and sort (the queue did); the
        hint makes it use the one named. PostgreSQL plans from its own statistics.
        """
        return f"{table} INDEXED BY {index}"

    def json_text(self, column: str, key: str) -> str:
        """The value of a top-level key of a JSON text column, as text (NULL when the key is
        missing or JSON null). Compare it with text: `... = '1'`, not `= 1`."""
        return f"CAST(json_extract({column}, '$.{_checked(key)}') AS TEXT)"

    def json_with_true(self, column: str, key: str) -> str:
        """The JSON text of `column` with a top-level key set to `true`."""
        return f"json_set({column}, '$.{_checked(key)}', json('true'))"

    def seconds_between(self, later: str, earlier: str) -> str:
        """Seconds from one stored instant (ISO 8601 text, see `to_iso`) to another."""
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def id_after_prefix(self, column: str, prefix: str) -> str:
        """The number after a code's prefix (`user:5` → 5), NULL for other codes.

        SQLite's CAST makes anything a number; PostgreSQL's fails on `user:x`, so there
        only digits are cast.
        """
        return (
            f"CASE WHEN {column} LIKE '{_checked_prefix(prefix)}%'"
            f" THEN CAST(substr({column}, {len(prefix) + 1}) AS INTEGER) END"
        )


class PostgresDialect(Dialect):
    """PostgreSQL's spelling of the same fragments."""

    name: EngineName = "postgresql"

    def indexed_by(self, table: str, index: str) -> str:
        return table

    def json_text(self, column: str, key: str) -> str:
        return f"(CAST({column} AS jsonb) ->> '{_checked(key)}')"

    def json_with_true(self, column: str, key: str) -> str:
        return (
            f"CAST(CAST({column} AS jsonb) || jsonb_build_object('{_checked(key)}', true)"
            " AS TEXT)"
        )

    def seconds_between(self, later: str, earlier: str) -> str:
        return (
            f"EXTRACT(EPOCH FROM (CAST({later} AS timestamptz)"
            f" - CAST({earlier} AS timestamptz)))"
        )

    def id_after_prefix(self, column: str, prefix: str) -> str:
        return (
            f"CASE WHEN {column} ~ '^{_checked_prefix(prefix)}[0-9]{{1,18}}$'"
            f" THEN CAST(substr({column}, {len(prefix) + 1}) AS BIGINT) END"
        )


SQLITE = Dialect()
POSTGRESQL = PostgresDialect()
