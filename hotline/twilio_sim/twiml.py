"""TwiML parsed into plain dataclasses, so the simulator can act on it and tests compare it.

Each verb's fields hold what Twilio would *use*: an attribute left out is read as Twilio's
default (`method="POST"`, Gather `timeout=5`, Dial `timeout=30`, Say `language="en-US"` …),
so two documents that mean the same thing parse equal and a test can write
`Gather(action=url, num_digits=1)` without spelling out defaults. Attributes without one
fixed default (`action`, which means "this document's URL"; `waitUrl`, `callerId`,
`numDigits`, `voice`) are `None` when absent. Whitespace in spoken text is collapsed,
because pretty-printed XML must not change what a caller hears.

The documents come from our own server but are still parsed as untrusted: a DTD (the door
to entity-expansion bombs) is refused before the parser sees the text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Dial",
    "DialTarget",
    "Enqueue",
    "Gather",
    "Hangup",
    "Leave",
    "Message",
    "Pause",
    "Play",
    "Redirect",
    "Reject",
    "Say",
    "TwiMLError",
    "Verb",
    "parse_twiml",
]

DEFAULT_LANGUAGE = "en-US"
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class TwiMLError(ValueError):
    """The document is not TwiML this simulator understands; `verb` names the culprit."""

    def __init__(self, message: str, verb: str | None = None) -> None:
        super().__init__(message)
        self.verb = verb


@dataclass(frozen=True)
class Say:
    """Speak `text` to the caller."""

    text: str
    language: str = DEFAULT_LANGUAGE
    voice: str | None = None


@dataclass(frozen=True)
class Play:
    """Play the audio at `url`."""

    url: str


@dataclass(frozen=True)
class Pause:
    """Silence for `length` seconds (no simulated time passes; see the driver)."""

    length: int = 1


@dataclass(frozen=True)
class Gather:
    """Collect keypresses while the nested Say/Play/Pause run; `action=None` means this document.

    With nothing pressed Twilio goes on with the verbs after the Gather, unless
    `action_on_empty_result` (`actionOnEmptyResult="true"`) asks it to request the action anyway.
    """

    action: str | None = None
    method: str = "POST"
    num_digits: int | None = None
    timeout: int = 5
    children: list[Verb] = field(default_factory=list)
    action_on_empty_result: bool = False


@dataclass(frozen=True)
class Redirect:
    """Fetch the TwiML at `url` and run it instead of the rest of this document."""

    url: str
    method: str = "POST"


@dataclass(frozen=True)
class Enqueue:
    """Put the caller in the named queue, with hold TwiML from `wait_url`."""

    queue_name: str
    wait_url: str | None = None
    wait_url_method: str = "POST"
    action: str | None = None
    method: str = "POST"


@dataclass(frozen=True)
class Leave:
    """Take the caller out of the queue they wait in (only meaningful in wait TwiML)."""


@dataclass(frozen=True)
class DialTarget:
    """One party a `<Dial>` rings: a browser client identity or a phone number."""

    kind: Literal["client", "number"]
    value: str
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dial:
    """Ring the targets together and bridge the caller to the first that answers."""

    action: str | None = None
    method: str = "POST"
    timeout: int = 30
    caller_id: str | None = None
    targets: list[DialTarget] = field(default_factory=list)


@dataclass(frozen=True)
class Hangup:
    """End the call."""


@dataclass(frozen=True)
class Message:
    """Send a text back to the person who texted (messaging TwiML)."""

    body: str


@dataclass(frozen=True)
class Reject:
    """Refuse an inbound call without answering it."""

    reason: str = "rejected"


Verb = Say | Play | Pause | Gather | Redirect | Enqueue | Leave | Dial | Hangup | Message | Reject


def parse_twiml(document: str | bytes) -> list[Verb]:
    """Parse a TwiML document into its verbs, in order; raise TwiMLError if it is not TwiML."""
    raw = document.encode() if isinstance(document, str) else document
    if _DTD.search(raw):
        raise TwiMLError("TwiML must not contain a DTD or entity declarations")
    try:
        # A DTD was refused above, so expat has no entities to expand; what is left is
        # ordinary well-formedness checking.
        root = ET.fromstring(raw)  # noqa: S314
    except ET.ParseError as error:
        raise TwiMLError(f"TwiML is not well-formed XML: {error}") from None
    if root.tag != "Response":
        raise TwiMLError(f"the root element must be <Response>, not <{root.tag}>", root.tag)
    return [_verb(element) for element in root]


def _verb(element: ET.Element) -> Verb:
    parse = _VERBS.get(str(element.tag))
    if parse is None:
        raise TwiMLError(f"unknown TwiML verb <{element.tag}>", str(element.tag))
    return parse(element)


def _text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def _int(element: ET.Element, name: str, default: int) -> int:
    value = element.get(name)
    if value is None:
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise TwiMLError(
            f"<{element.tag} {name}={value!r}> is not a whole number", str(element.tag)
        ) from None


def _bool(element: ET.Element, name: str) -> bool:
    # Twilio takes only "true" and "false" (error 13338 for actionOnEmptyResult otherwise).
    value = (element.get(name) or "false").strip().lower()
    if value not in ("true", "false"):
        raise TwiMLError(
            f"<{element.tag} {name}={value!r}> must be true or false", str(element.tag)
        )
    return value == "true"


def _method(element: ET.Element, name: str = "method") -> str:
    method = (element.get(name) or "POST").strip().upper()
    if method not in ("GET", "POST"):
        raise TwiMLError(f"<{element.tag} {name}={method!r}> must be GET or POST", str(element.tag))
    return method


def _optional(element: ET.Element, name: str) -> str | None:
    value = element.get(name)
    return value.strip() if value is not None and value.strip() else None


def _no_children(element: ET.Element) -> None:
    for child in element:
        raise TwiMLError(f"<{element.tag}> cannot contain <{child.tag}>", str(child.tag))


def _say(element: ET.Element) -> Say:
    # Say may carry SSML children (<prosody>, <break>); what is heard is their text.
    return Say(
        text=_text(element),
        language=element.get("language") or DEFAULT_LANGUAGE,
        voice=element.get("voice"),
    )


def _play(element: ET.Element) -> Play:
    _no_children(element)
    return Play(url=_text(element))


def _pause(element: ET.Element) -> Pause:
    _no_children(element)
    return Pause(length=_int(element, "length", 1))


_GATHER_CHILDREN = ("Say", "Play", "Pause")


def _gather(element: ET.Element) -> Gather:
    children: list[Verb] = []
    for child in element:
        if child.tag not in _GATHER_CHILDREN:
            raise TwiMLError(f"<Gather> cannot contain <{child.tag}>", str(child.tag))
        children.append(_verb(child))
    num_digits = element.get("numDigits")
    return Gather(
        action=_optional(element, "action"),
        method=_method(element),
        num_digits=None if num_digits is None else _int(element, "numDigits", 0),
        timeout=_int(element, "timeout", 5),
        children=children,
        action_on_empty_result=_bool(element, "actionOnEmptyResult"),
    )


def _redirect(element: ET.Element) -> Redirect:
    _no_children(element)
    url = _text(element)
    if not url:
        raise TwiMLError("<Redirect> needs a URL", "Redirect")
    return Redirect(url=url, method=_method(element))


def _enqueue(element: ET.Element) -> Enqueue:
    _no_children(element)
    name = _text(element)
    if not name:
        raise TwiMLError("<Enqueue> needs a queue name", "Enqueue")
    return Enqueue(
        queue_name=name,
        wait_url=_optional(element, "waitUrl"),
        wait_url_method=_method(element, "waitUrlMethod"),
        action=_optional(element, "action"),
        method=_method(element),
    )


def _leave(element: ET.Element) -> Leave:
    _no_children(element)
    return Leave()


def _dial_target(element: ET.Element) -> DialTarget:
    tag = str(element.tag)
    if tag == "Number":
        kind: Literal["client", "number"] = "number"
        value = _text(element)
    elif tag == "Client":
        kind = "client"
        # Both <Client>alice</Client> and the newer <Client><Identity>alice</Identity>…</Client>.
        identity = element.find("Identity")
        value = _text(identity) if identity is not None else (element.text or "").strip()
    else:
        raise TwiMLError(f"<Dial> cannot contain <{tag}>", tag)
    if not value:
        raise TwiMLError(f"<{tag}> needs a value", tag)
    return DialTarget(
        kind=kind,
        value=value,
        status_callback=_optional(element, "statusCallback"),
        status_callback_event=tuple((element.get("statusCallbackEvent") or "").split()),
    )


def _dial(element: ET.Element) -> Dial:
    targets = [_dial_target(child) for child in element]
    bare = (element.text or "").strip()
    if bare:
        # <Dial>+8613900000000</Dial> is shorthand for a single <Number>.
        targets.insert(0, DialTarget(kind="number", value=bare))
    if not targets:
        raise TwiMLError("<Dial> needs a number or a client to ring", "Dial")
    return Dial(
        action=_optional(element, "action"),
        method=_method(element),
        timeout=_int(element, "timeout", 30),
        caller_id=_optional(element, "callerId"),
        targets=targets,
    )


def _hangup(element: ET.Element) -> Hangup:
    _no_children(element)
    return Hangup()


def _message(element: ET.Element) -> Message:
    body = element.find("Body")
    return Message(body=_text(body) if body is not None else _text(element))


def _reject(element: ET.Element) -> Reject:
    _no_children(element)
    reason = element.get("reason") or "rejected"
    if reason not in ("rejected", "busy"):
        raise TwiMLError(f"<Reject reason={reason!r}> must be rejected or busy", "Reject")
    return Reject(reason=reason)


_VERBS: dict[str, Callable[[ET.Element], Verb]] = {
    "Say": _say,
    "Play": _play,
    "Pause": _pause,
    "Gather": _gather,
    "Redirect": _redirect,
    "Enqueue": _enqueue,
    "Leave": _leave,
    "Dial": _dial,
    "Hangup": _hangup,
    "Message": _message,
    "Reject": _reject,
}
