"""Signed links in page texts: `/p/<page>.<expiry>.<signature>`.

The signature is a keyed hash (HMAC-SHA256 under a key derived from the data key) of the page
id and expiry, so a link cannot be forged or stretched, and the store holds no bearer token.
A link identifies one page, hence one person and one dispatch, and nothing more.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

from hotline.crypto import FieldCipher

SIGNATURE_CHARS = 32


def page_token(cipher: FieldCipher, page_id: int, expires: datetime) -> str:
    """The token for a page's link, valid until `expires`."""
    stamp = int(expires.timestamp())
    return f"{page_id}.{stamp}.{_signature(cipher, page_id, stamp)}"


def page_link(base_url: str, cipher: FieldCipher, page_id: int, now: datetime, hours: int) -> str:
    """The absolute link sent in a page's text."""
    return f"{base_url}/p/{page_token(cipher, page_id, now + timedelta(hours=hours))}"


def verify_token(cipher: FieldCipher, token: str, now: datetime) -> int | None:
    """The page id of a genuine, unexpired token; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    page_id, stamp = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(parts[2], _signature(cipher, page_id, stamp)):
        return None
    if datetime.fromtimestamp(stamp, UTC) <= now:
        return None
    return page_id


def _signature(cipher: FieldCipher, page_id: int, stamp: int) -> str:
    return cipher.keyed_hash(f"page-link:{page_id}:{stamp}")[:SIGNATURE_CHARS]
