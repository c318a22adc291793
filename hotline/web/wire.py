"""JSON shapes that both the person's chat and the counsellor's console send (docs/web-api.md)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hotline.contacts import Message
from hotline.errors import InvalidInput


def message_json(message: Message) -> dict[str, Any]:
    """The shape of a message on the wire (both pages use it)."""
    return {
        "id": message.id,
        "from": message.sender,
        "text": message.text,
        "at": message.at.isoformat(),
        "delivery_status": message.delivery_status,
    }


async def json_object(request: web.Request) -> dict[str, Any]:
    """A staff API request's JSON object body (no body reads as {}); else 400 `bad_request`."""
    try:
        body = await request.json() if request.can_read_body else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput("the body must be JSON", code="bad_request") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", code="bad_request")
    return body
