"""Calls and texts in real Chromium: the same console takes a phone call and an SMS.

The hotline runs with telephony on, pointed at the local Twilio simulator; the simulated
caller's "counsellor endpoint" answers the dial, as the counsellor's phone would.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.twilio_sim import TwilioSimulator
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from tests.browser.conftest import console_login
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def phone_line(
    aiohttp_server: Any, config: Config, clock: ManualClock
) -> AsyncIterator[tuple[str, TwilioSimulator, Any]]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, webhook_base=base
    ) as sim:
        telephony = replace(
            config.telephony,
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_url=base,
            api_base_url=str(sim.api_base_url),
        )
        app = create_app(replace(config, telephony=telephony), clock=clock)
        await aiohttp_server(app, port=port)
        await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
        yield base, sim, app
        sim.raise_for_errors()


async def test_counsellor_takes_a_phone_call_then_a_text(
    phone_line: tuple[str, TwilioSimulator, Any], browser: Browser
) -> None:
    """A call shows as 电话, rings, is answered with its timer, is hung up; then an SMS."""
    base, sim, _app = phone_line
    page = await console_login(browser, base, "wang")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await expect(page.locator("#voice-status")).to_contain_text("来电将转到您的电话")

    call = await sim.place_call("+8613912340009", digits=["9", "2"])
    row = page.locator("#queue .queue-item")
    await expect(row).to_contain_text("电话")
    await expect(row).to_contain_text("弋江区")
    await page.keyboard.press("Alt+n")
    panel = page.locator("#call-panel")
    await expect(panel).to_contain_text("通话中")  # rang, and the counsellor's phone answered
    await sim.settle()
    assert call.state == "connected"
    await expect(page.locator("#call-timer")).to_be_visible()
    await expect(page.locator("#reply")).to_be_hidden()  # a call has no text channel

    await page.keyboard.press("Alt+h")  # hang up and end, confirmed in the page
    await page.click("#end-conversation-confirm")
    await expect(page.locator("#wrap-up")).to_be_visible()
    await sim.settle()
    assert call.state == "completed"
    await page.select_option("#wrap-category", "suicidal_ideation")
    await page.select_option("#wrap-outcome", "safety_plan")
    # The caller pressed 9 (imminent): the follow-up decision is required; the call's own
    # number reaches them, so no number is asked for.
    await expect(page.locator("#wrap-follow-up-required")).to_contain_text("必填")
    await page.check("#wrap-follow-up-yes")
    await expect(page.locator("#wrap-follow-up-phone")).to_be_hidden()
    await page.click("#wrap-submit")
    await expect(page.locator("#wrap-up")).to_be_hidden()

    await sim.send_sms("+8613912340010", "我想找人说说话")
    await expect(row).to_contain_text("短信")
    await page.keyboard.press("Alt+n")
    await expect(page.locator("#conversation .message.from-caller .text")).to_have_text(
        ["我想找人说说话"]
    )
    await page.fill("#reply", "你好，我在，慢慢说。")
    await page.keyboard.press("Enter")
    # The provider's delivery report reaches the console as it arrives.
    await expect(page.locator("#conversation")).to_contain_text("短信已送达")
    await sim.settle()
    assert [m["body"] for m in sim.rest.sent_messages] == ["你好，我在，慢慢说。"]
    assert errors == []
