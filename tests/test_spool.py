"""The spool (hotline.spool) and the keep-or-run rule of hotline.channels.store_away.

The outage itself, with a real PostgreSQL cut off, is in tests/store/test_telephony_outage.py;
here the spool file's own promises: durable, sealed, oldest first, claimed once, a dead
replayer's claim taken over, a record the store refuses set aside without blocking others.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline.channels.store_away import StoreAway
from hotline.clock import ManualClock
from hotline.crypto import FieldCipher
from hotline.spool import CLAIM_SECONDS, SPOOL_FILE, Spool

NUMBER = "+8613800001111"


def spool_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in data_dir.glob(SPOOL_FILE + "*"))


async def test_records_survive_a_reopen_sealed_and_come_back_oldest_first(
    tmp_path: Path, clock: ManualClock
) -> None:
    cipher = FieldCipher(os.urandom(32))
    spool = await Spool.open(tmp_path, cipher, clock)
    first_at = clock.now()
    await spool.keep("sms.received", {"From": NUMBER, "Body": "第一条"})
    clock.advance(seconds=5)
    await spool.keep("sms.received", {"From": NUMBER, "Body": "second"})
    await spool.close()

    on_disk = await asyncio.to_thread(spool_bytes, tmp_path)
    assert NUMBER.encode() not in on_disk and "第一条".encode() not in on_disk

    reopened = await Spool.open(tmp_path, cipher, clock)
    try:
        assert reopened.waiting == 2
        oldest = await reopened.claim_oldest()
        assert oldest is not None
        assert oldest.payload == {"From": NUMBER, "Body": "第一条"}
        assert oldest.kept_at == first_at
        # Claimed: another process sharing the file is offered the next one, not this one.
        other = await Spool.open(tmp_path, cipher, clock)
        try:
            second = await other.claim_oldest()
            assert second is not None and second.payload["Body"] == "second"
            assert await other.claim_oldest() is None
        finally:
            await other.close()
        await reopened.done(oldest)
        assert await reopened.count() == 1
    finally:
        await reopened.close()


async def test_a_claim_whose_replayer_died_is_taken_over(
    tmp_path: Path, clock: ManualClock
) -> None:
    cipher = FieldCipher(os.urandom(32))
    dying = await Spool.open(tmp_path, cipher, clock)
    await dying.keep("voice.status", {"form": {"CallSid": "CA1", "CallStatus": "completed"}})
    assert await dying.claim_oldest() is not None
    await dying.close()  # its process died mid-replay

    survivor = await Spool.open(tmp_path, cipher, clock)
    try:
        assert await survivor.claim_oldest() is None  # still someone else's
        clock.advance(seconds=CLAIM_SECONDS + 1)
        taken = await survivor.claim_oldest()
        assert taken is not None and taken.payload["form"]["CallSid"] == "CA1"
    finally:
        await survivor.close()


async def test_while_records_wait_new_steps_queue_behind_them(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A hang-up must not reach the store before the arrival it belongs to."""
    spool = await Spool.open(tmp_path, FieldCipher(os.urandom(32)), clock)
    away = StoreAway(spool, (ConnectionRefusedError,))
    applied: list[str] = []

    async def store_down() -> str:
        raise ConnectionRefusedError("the store does not answer")

    async def store_up() -> str:
        applied.append("direct")
        return "stored"

    async def replay(kept: dict[str, Any], _at: datetime) -> None:
        applied.append(kept["step"])

    away.on_replay("voice.arrival", replay)
    away.on_replay("voice.dequeued", replay)
    try:
        assert await away.step("voice.arrival", {"step": "arrival"}, store_down, lambda: "held")
        answer = await away.step("voice.dequeued", {"step": "hangup"}, store_up, lambda: "kept")
        assert answer == "kept"  # the store answered, but the arrival is still waiting
        assert applied == []
        assert await away.replay() == 2
        assert applied == ["arrival", "hangup"]
        assert await away.step("voice.dequeued", {"step": "later"}, store_up, lambda: "kept")
        assert applied[-1] == "direct"
    finally:
        await spool.close()


async def test_a_record_the_store_refuses_is_set_aside_and_the_rest_go_on(
    tmp_path: Path, clock: ManualClock
) -> None:
    spool = await Spool.open(tmp_path, FieldCipher(os.urandom(32)), clock)
    away = StoreAway(spool, (ConnectionRefusedError,))
    applied: list[int] = []

    async def replay(kept: dict[str, Any], _at: datetime) -> None:
        if kept["n"] == 1:
            raise KeyError("a bug, not an outage")
        applied.append(kept["n"])

    away.on_replay("sms.received", replay)
    try:
        for n in range(3):
            await spool.keep("sms.received", {"n": n})
        assert await away.replay() == 2
        assert applied == [0, 2]
        assert await spool.count() == 0  # nothing left blocking new steps
        assert await spool.claim_oldest() is None
    finally:
        await spool.close()


async def test_an_outage_during_the_replay_keeps_the_record_for_the_next_try(
    tmp_path: Path, clock: ManualClock
) -> None:
    spool = await Spool.open(tmp_path, FieldCipher(os.urandom(32)), clock)
    away = StoreAway(spool, (ConnectionRefusedError,))
    up = False
    applied: list[int] = []

    async def replay(kept: dict[str, Any], _at: datetime) -> None:
        if not up:
            raise ConnectionRefusedError
        applied.append(kept["n"])

    away.on_replay("sms.received", replay)
    try:
        await spool.keep("sms.received", {"n": 7})
        assert await away.replay() == 0
        assert await spool.count() == 1
        up = True
        assert await away.replay() == 1
        assert applied == [7]
    finally:
        await spool.close()


async def test_a_gateway_stopping_mid_replay_gives_the_record_back(
    tmp_path: Path, clock: ManualClock
) -> None:
    """Otherwise the next process would wait out the claim (a minute) before replaying it."""
    cipher = FieldCipher(os.urandom(32))
    spool = await Spool.open(tmp_path, cipher, clock)
    away = StoreAway(spool, (ConnectionRefusedError,))
    started = asyncio.Event()

    async def slow_store(_kept: dict[str, Any], _at: datetime) -> None:
        started.set()
        await asyncio.Event().wait()  # the store is slow to answer

    away.on_replay("voice.arrival", slow_store)
    await spool.keep("voice.arrival", {"form": {"CallSid": "CA9"}})
    replaying = asyncio.create_task(away.replay())
    await started.wait()
    replaying.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await replaying
    next_process = await Spool.open(tmp_path, cipher, clock)
    try:
        kept = await next_process.claim_oldest()
        assert kept is not None and kept.payload["form"]["CallSid"] == "CA9"
    finally:
        await next_process.close()
        await spool.close()
