"""Reading a responder's SMS reply: `<code> 1`, `<code> 2 <reason>`, `<code> ETA <minutes>`.

Replies are typed on a phone by someone woken at night, so the reading forgives what a
person would: full-width digits and spaces (a Chinese keyboard's), extra or missing spaces,
`eta` in any case, a trailing full stop. It refuses what is ambiguous: a reply it cannot
read changes nothing and is answered with the format.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_ETA_MINUTES = 600
MAX_REASON_CHARS = 200

_REPLY = re.compile(
    r"^\s*(?P<code>\d{4,6})\s*"
    r"(?:(?P<accept>1)|(?P<decline>2)(?:\s+(?P<reason>.*?))?|eta\s*(?P<minutes>\d{1,4}))"
    r"\s*[.。!！]?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CODE_ONLY = re.compile(r"^\s*(?P<code>\d{4,6})\b")


class ReplyAction(StrEnum):
    """What a reply asks for."""

    ACCEPT = "accept"
    DECLINE = "decline"
    ETA = "eta"


@dataclass(frozen=True)
class Reply:
    """A readable reply."""

    code: str
    action: ReplyAction
    reason: str | None = None
    minutes: int | None = None


@dataclass(frozen=True)
class Unreadable:
    """A reply that could not be read; `code` is kept when it started with one."""

    code: str | None
    problem: str


def parse_reply(body: str) -> Reply | Unreadable:
    """Read one SMS reply."""
    text = unicodedata.normalize("NFKC", body).strip()
    match = _REPLY.match(text)
    if match is None:
        started = _CODE_ONLY.match(text)
        return Unreadable(started.group("code") if started else None, "format")
    code = match.group("code")
    if match.group("accept"):
        return Reply(code, ReplyAction.ACCEPT)
    if match.group("decline"):
        reason = " ".join((match.group("reason") or "").split())[:MAX_REASON_CHARS]
        return Reply(code, ReplyAction.DECLINE, reason=reason or None)
    minutes = int(match.group("minutes"))
    if not 0 < minutes <= MAX_ETA_MINUTES:
        return Unreadable(code, "eta_range")
    return Reply(code, ReplyAction.ETA, minutes=minutes)
