"""Proves at start that the data key opens this database's data.

A wrong key (a typo in HOTLINE_DATA_KEY, a key file from another server) would otherwise let
the hotline start and then fail on the first message it tries to show to a counsellor.
"""

from __future__ import annotations

from hotline.clock import to_iso
from hotline.config import Config
from hotline.crypto import DataKeyError, FieldCipher, load_or_create_key
from hotline.store.database import DB_FILE, Database

_CANARY = "hotline data key check"
_CONTEXT = "key_check.sealed:1"


def data_cipher(config: Config) -> FieldCipher:
    """The cipher for this data dir; a key is generated only for a data dir with no database.

    On PostgreSQL the data dir holds no database, so whether data exists is not known here:
    a missing key is generated, and `verify_data_key` then refuses to start if the
    database's data was sealed with another key (copy the key to every gateway machine).
    """
    fresh = config.database.engine == "postgresql" or not (config.data_dir / DB_FILE).exists()
    return FieldCipher(load_or_create_key(config.data_dir, config.data_key, may_create=fresh))


async def verify_data_key(db: Database, cipher: FieldCipher) -> None:
    """Seal the canary on first start; afterwards raise `DataKeyError` if it does not open."""
    async with db.transaction() as tx:
        row = await tx.fetchone("SELECT sealed FROM key_check WHERE id = 1")
        if row is None:
            await tx.execute(
                "INSERT INTO key_check (id, sealed, created_at) VALUES (1, ?, ?)",
                (cipher.seal(_CANARY, _CONTEXT), to_iso(tx.clock.now())),
            )
            return
    try:
        opened = cipher.open(row["sealed"], _CONTEXT)
    except DataKeyError:
        opened = None
    if opened != _CANARY:
        raise DataKeyError(
            "the data key does not open this database: check HOTLINE_DATA_KEY or "
            "the key file in the data directory (keys/data.key)"
        )
