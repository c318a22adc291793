"""Which store to open: the config's `[database] engine` decides.

`sqlite` (the default) opens `hotline.sqlite3` in the data directory; `postgresql` connects
to `[database] url`. Everything above the store works the same on either.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hotline.clock import Clock
from hotline.config import Config
from hotline.events import EventBus
from hotline.store.database import DB_FILE, Database


async def open_database(config: Config, clock: Clock, bus: EventBus | None = None) -> Database:
    """Open the configured store and apply its pending migrations."""
    if config.database.engine == "postgresql":
        from hotline.store.postgres import PostgresDatabase

        return await PostgresDatabase.open_url(config.database.url, clock, bus)
    from hotline.store.sqlite import SqliteDatabase

    config.data_dir.mkdir(parents=True, exist_ok=True)
    return await SqliteDatabase.open_file(config.data_dir / DB_FILE, clock, bus)


def store_label(config: Config) -> str:
    """Where the store is, for a person to read: the SQLite file, or the PostgreSQL server
    and database (never the user name or password of the url)."""
    if config.database.engine == "postgresql":
        parts = urlsplit(config.database.url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        name = parts.path.lstrip("/") or "(default)"
        return f"PostgreSQL database {name} on {host}{port}"
    return f"database {config.data_dir / DB_FILE}"
