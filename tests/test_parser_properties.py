"""Property tests (hypothesis) for parsers of outside input: whatever a person, a phone or an
operator sends, a parser answers with a value or its own clear refusal, never a crash, and
what is well formed is read exactly.

Issue 10 asks for these for every parser of outside input; this file starts with the
responders' SMS replies, the Redis Sentinel address in the config, follow-up durations in
the config and Twilio's numeric webhook fields.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch.followups.settings import parse_duration
from dispatch.replies import MAX_ETA_MINUTES, Reply, ReplyAction, Unreadable, parse_reply
from hotline.channels.voice import _int as webhook_int
from hotline.cluster.address import AddressError, SentinelAddress, parse_sentinel

codes = st.text(alphabet="0123456789", min_size=4, max_size=6)
spaces = st.text(alphabet=" \u3000\t", max_size=3)  # a Chinese keyboard's full-width space too
endings = st.sampled_from(["", ".", "。", "!", "！"])


def full_width(text: str) -> str:
    """Digits and letters as a Chinese keyboard may type them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(st.text(max_size=300))
def test_any_reply_text_is_read_or_refused_never_a_crash(body: str) -> None:
    result = parse_reply(body)
    assert isinstance(result, Reply | Unreadable)
    if isinstance(result, Reply) and result.action is ReplyAction.ETA:
        assert result.minutes is not None and 0 < result.minutes <= MAX_ETA_MINUTES


@given(codes, spaces, spaces, endings, st.booleans())
def test_an_acceptance_is_read_however_it_is_typed(
    code: str, before: str, between: str, ending: str, wide: bool
) -> None:
    typed = before + code + between + "1" + ending
    assert parse_reply(full_width(typed) if wide else typed) == Reply(code, ReplyAction.ACCEPT)


@given(codes, st.integers(1, MAX_ETA_MINUTES), st.sampled_from(["eta", "ETA", "Eta"]), spaces)
def test_an_eta_is_read_with_its_minutes(code: str, minutes: int, word: str, gap: str) -> None:
    assert parse_reply(f"{code} {word}{gap}{minutes}") == Reply(
        code, ReplyAction.ETA, minutes=minutes
    )


@given(codes, st.text(min_size=1, max_size=300))
def test_a_decline_keeps_a_bounded_reason_on_one_line(code: str, reason: str) -> None:
    result = parse_reply(f"{code} 2 {reason}")
    if isinstance(result, Reply):
        assert result.action is ReplyAction.DECLINE
        assert result.reason is None or (len(result.reason) <= 200 and "\n" not in result.reason)


hosts = st.from_regex(r"[a-z][a-z0-9.-]{0,20}", fullmatch=True)
ports = st.integers(1, 65535)
services = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,15}", fullmatch=True)


@given(st.lists(st.tuples(hosts, ports), min_size=1, max_size=4), services, st.integers(0, 15))
def test_a_sentinel_address_is_read_back_exactly(
    sentinels: list[tuple[str, int]], service: str, db: int
) -> None:
    hosts_text = ",".join(f"{host}:{port}" for host, port in sentinels)
    address = parse_sentinel(f"redis+sentinel://{hosts_text}/{service}/{db}")
    assert address == SentinelAddress(tuple(sentinels), service, db, None)


@given(st.text(max_size=120))
def test_any_sentinel_address_is_read_or_refused_with_a_reason(rest: str) -> None:
    try:
        address = parse_sentinel("redis+sentinel://" + rest)
    except AddressError as exc:
        assert str(exc)
    else:
        assert address.sentinels and address.service and address.db >= 0


@given(st.integers(0, 10_000), st.sampled_from(["m", "h", "d", "w"]), spaces)
def test_a_duration_is_read_exactly(amount: int, unit: str, pad: str) -> None:
    expected = {"m": timedelta(minutes=amount), "h": timedelta(hours=amount)}.get(
        unit, timedelta(days=amount * (7 if unit == "w" else 1))
    )
    assert parse_duration(pad + f"{amount}{unit}" + pad.replace("\u3000", " ")) in (
        expected,
        None,  # a full-width space is not a space to the config (it is a typo to report)
    )
    assert parse_duration(f"{amount}{unit}") == expected


@given(st.text(max_size=40))
def test_any_duration_text_is_a_duration_or_none(text: str) -> None:
    result = parse_duration(text)
    assert result is None or result >= timedelta(0)


@given(st.text(max_size=30))
def test_twilios_numeric_fields_are_never_negative_and_never_crash(value: str) -> None:
    """QueueTime, and the like: a forged or odd value counts as 0, never a 500."""
    number = webhook_int(value)
    assert number >= 0
    stripped = unicodedata.normalize("NFKC", value).strip()
    if stripped.isascii() and stripped.isdigit():
        assert number == int(stripped)
