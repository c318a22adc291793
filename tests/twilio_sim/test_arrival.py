"""Real arrival times of the hotline's REST requests, and waiting for them, for benchmarks.

Simulated time stands still unless a test moves it, so "how long did dispatch take to page
everyone" is measured in real time: each text and call created through REST records
`time.perf_counter()` when its request reached the simulator, and a test can wait for the
n-th one instead of polling or settling.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from twilio.rest import Client

from hotline.twilio_sim import TwilioSimulator
from tests.twilio_sim.conftest import CALLER, HOTLINE_NUMBER, PAGING_NUMBER, RESPONDER, FakePager

OTHER_RESPONDER = "+8613900000010"


async def text(twilio: Client, to: str, body: str = "page") -> str:
    """Text `to` from the paging number; return the MessageSid."""
    message = await twilio.messages.create_async(to=to, from_=PAGING_NUMBER, body=body)
    assert message.sid is not None
    return str(message.sid)


async def test_texts_and_calls_record_when_their_request_arrived(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """`arrived` lies between the client's send and its answer, on texts, calls and records."""
    before = time.perf_counter()
    await text(paging_twilio, RESPONDER)
    between = time.perf_counter()
    created = await paging_twilio.calls.create_async(
        to=RESPONDER, from_=PAGING_NUMBER, url=pager.url("/paging/call")
    )
    after = time.perf_counter()
    await paging.settle()

    [message] = paging.rest.sent_messages
    call = paging.calls[str(created.sid)]
    assert before <= message["arrived"] <= between <= call.arrived <= after
    recorded = [r.arrived for r in paging.rest.recorded]
    assert recorded == [message["arrived"], call.arrived]

    start = time.perf_counter()
    inbound = await paging.place_call(CALLER)  # a person's call: when it was placed
    assert start <= inbound.arrived <= time.perf_counter()


async def test_wait_for_messages_returns_once_enough_texts_to_that_number_arrived(
    paging: TwilioSimulator, paging_twilio: Client
) -> None:
    """Texts to others do not count; the n-th text to the number releases the wait."""
    waiting = asyncio.create_task(paging.wait_for_messages(2, to=RESPONDER, timeout=5))
    await text(paging_twilio, RESPONDER, "first")
    await text(paging_twilio, OTHER_RESPONDER, "elsewhere")
    await asyncio.sleep(0)
    assert not waiting.done()
    await text(paging_twilio, RESPONDER, "second")
    messages = await waiting
    assert [m["body"] for m in messages] == ["first", "second"]
    assert messages[0]["arrived"] < messages[1]["arrived"]


async def test_wait_for_messages_counts_texts_already_there_and_to_anyone(
    paging: TwilioSimulator, paging_twilio: Client
) -> None:
    """Earlier texts count, so a wait started late returns at once; no `to` counts all."""
    await text(paging_twilio, RESPONDER)
    await text(paging_twilio, OTHER_RESPONDER)
    everyone = await paging.wait_for_messages(2, timeout=0.5)
    assert [m["to"] for m in everyone] == [RESPONDER, OTHER_RESPONDER]
    assert len(await paging.wait_for_messages(1, to=OTHER_RESPONDER, timeout=0.5)) == 1


async def test_wait_for_messages_can_wait_for_one_senders_texts(
    paging: TwilioSimulator, paging_twilio: Client
) -> None:
    """`from_` counts only the texts one number sent, e.g. pages among counsellors' replies."""
    await paging_twilio.messages.create_async(to=CALLER, from_=HOTLINE_NUMBER, body="reply")
    waiting = asyncio.create_task(paging.wait_for_messages(1, from_=PAGING_NUMBER, timeout=5))
    await asyncio.sleep(0)
    assert not waiting.done()
    await text(paging_twilio, RESPONDER)
    [page] = await waiting
    assert (page["from"], page["to"]) == (PAGING_NUMBER, RESPONDER)
    with pytest.raises(TimeoutError, match=r"0 of 1 texts to anyone from \+865533110099"):
        await paging.wait_for_messages(1, from_="+865533110099", timeout=0.05)


async def test_wait_for_messages_times_out_saying_how_many_came(
    paging: TwilioSimulator, paging_twilio: Client
) -> None:
    """TimeoutError after `timeout` real seconds, naming what did arrive."""
    await text(paging_twilio, RESPONDER)
    with pytest.raises(TimeoutError, match=r"1 of 2 texts to \+8613900000009"):
        await paging.wait_for_messages(2, to=RESPONDER, timeout=0.05)


async def test_wait_for_calls_returns_the_calls_the_hotline_placed(
    paging: TwilioSimulator, paging_twilio: Client, pager: FakePager
) -> None:
    """Only REST-created calls count (a person's call does not), filtered by `To`."""
    await paging.place_call(CALLER)
    waiting = asyncio.create_task(paging.wait_for_calls(2, timeout=5))
    for to in (RESPONDER, OTHER_RESPONDER):
        await paging_twilio.calls.create_async(
            to=to, from_=PAGING_NUMBER, url=pager.url("/paging/call")
        )
    calls = await waiting
    assert [c.to for c in calls] == [RESPONDER, OTHER_RESPONDER]
    [mine] = await paging.wait_for_calls(1, to=OTHER_RESPONDER, timeout=0.5)
    assert mine is calls[1]
    with pytest.raises(TimeoutError, match="1 of 2 calls"):
        await paging.wait_for_calls(2, to=RESPONDER, timeout=0.05)
    await paging.settle()
