"""JSON shapes that both the person's chat and the counsellor's console send (docs/web-api.md)."""

from __future__ import annotations

from typing import Any

from hotline.contacts import Message


def message_json(message: Message) -> dict[str, Any]:
    """The shape of a message on the wire (both pages use it)."""
    return {
        "id": message.id,
        "from": message.sender,
        "text": message.text,
        "at": message.at.isoformat(),
        "delivery_status": message.delivery_status,
    }
