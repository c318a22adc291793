"""Structured JSON logs that carry ids and never personal data.

Log events name contacts, users and requests by id only. Callers of the log never pass
message text, names or numbers; as a second line of defence, `redact_personal_data` drops
any field whose name says it holds such data, so a careless `log.info(..., text=...)` cannot
leak a person's words into a log file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names that must never reach a log line, whatever the value.
PERSONAL_FIELDS = frozenset(
    {
        "text",
        "body",
        "message",
        "note",
        "summary",
        "phone",
        "number",
        "name",
        "display_name",
        "password",
        "token",
        "address",
        "from_",
        "to",
    }
)


def redact_personal_data(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: replace fields that could hold personal data."""
    for key in list(event_dict):
        if key in PERSONAL_FIELDS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(level: str = "info", stream: Any = None) -> None:
    """Send structlog JSON lines to stdout (or `stream`), with contextvars (request id) merged."""
    logging.basicConfig(format="%(message)s", stream=stream or sys.stdout, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    # aiohttp's own access log prints client addresses and full URLs (which can carry chat
    # tokens); the request-context middleware writes a safe summary line instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
