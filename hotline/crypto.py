"""Encryption of personal data at rest, and keyed hashes that link without revealing.

Message text, notes, names and contact details are sealed with AES-256-GCM before they reach
SQLite, so a copied database file or backup shows nothing of a person's most private moment.
The associated data binds each ciphertext to its table, column and owner, so a sealed value
cannot be moved to another row and still open. The key comes from HOTLINE_DATA_KEY or from a
key file generated into the data directory (mode 0600) on first start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_FILE = "keys/data.key"
_VERSION = b"\x01"
_NONCE_BYTES = 12


class DataKeyError(Exception):
    """The data key is missing, malformed or does not open the stored data."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


class FieldCipher:
    """Seals and opens personal-data fields; one instance per process, built from the key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise DataKeyError("the data key must be 32 bytes (44 characters of base64)")
        self._aead = AESGCM(_derive(master_key, b"hotline field encryption v1"))
        self._hash_key = _derive(master_key, b"hotline keyed hash v1")

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt text; `context` (e.g. "messages.body:42") must be given again to open it."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return _VERSION + nonce + sealed

    def open(self, blob: bytes, context: str) -> str:
        """Decrypt a value sealed with the same context; tampering raises `DataKeyError`."""
        if not blob or blob[:1] != _VERSION:
            raise DataKeyError("unknown ciphertext version")
        nonce = blob[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, blob[1 + _NONCE_BYTES :], context.encode("utf-8"))
        except InvalidTag:
            raise DataKeyError("ciphertext does not open with this key and context") from None
        return plain.decode("utf-8")

    def seal_optional(self, plaintext: str | None, context: str) -> bytes | None:
        """Seal optional text; nothing written (None) stays nothing, so NULL means absent."""
        return self.seal(plaintext, context) if plaintext else None

    def open_optional(self, blob: bytes | None, context: str) -> str:
        """Open what `seal_optional` wrote; an absent value reads as empty text."""
        return self.open(blob, context) if blob else ""

    def keyed_hash(self, value: str) -> str:
        """A stable pseudonym for a value (a phone number), useless without the key."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def token_digest(token: str) -> str:
    """Digest of a random bearer token, so the store never holds a usable session or chat token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh unguessable bearer token."""
    return secrets.token_urlsafe(32)


def load_or_create_key(data_dir: Path, env_value: str | None, *, may_create: bool = True) -> bytes:
    """Return the data key from the environment, the key file, or a newly generated key file.

    `may_create` is false once data exists: a fresh key then could never open it, so a missing
    key file is reported instead of silently replaced.
    """
    if env_value:
        return _decode_key(env_value, "HOTLINE_DATA_KEY")
    path = data_dir / KEY_FILE
    if path.exists():
        return _decode_key(path.read_text(encoding="ascii").strip(), str(path))
    if not may_create:
        raise DataKeyError(
            f"{path} is missing but the data directory already holds a database; restore the "
            "key file (or set HOTLINE_DATA_KEY) rather than generating a new key"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = AESGCM.generate_key(bit_length=256)
    # O_EXCL: two processes starting together must not each write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode_key(path.read_text(encoding="ascii").strip(), str(path))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(key).decode("ascii") + "\n")
    return key


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DataKeyError(f"{where}: the data key is not valid base64") from None
    if len(key) != 32:
        raise DataKeyError(f"{where}: the data key must decode to 32 bytes, got {len(key)}")
    return key
