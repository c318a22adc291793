"""The pre-chat screener in real Chromium: optional, keyboard-friendly, and it counts."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from hotline.risk import RiskLevel
from hotline.web import keys

pytestmark = pytest.mark.browser


async def test_answers_put_a_person_in_danger_first(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Someone who answers 'acting now' and 'not safe' is queued as imminent, ahead of others."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    conversations = app[keys.CONVERSATIONS]
    earlier, _ = await conversations.start_webchat(None, "zh-CN")

    page = await (await browser.new_context(locale="zh-CN")).new_page()
    await page.goto(f"{base}/chat")
    await page.click("#screener summary")
    await page.check('input[name="suicidal_thoughts"][value="yes"]')
    await page.check('input[name="acted"][value="now"]')
    await page.check('input[name="safe_now"][value="no"]')
    await page.click("#start")
    await expect(page.locator("#status")).to_contain_text("下一位")
    queue = await conversations.queue()
    assert [c.id for c in queue][1] == earlier.id
    assert queue[0].risk is RiskLevel.IMMINENT


async def test_skipping_the_screener_is_fine(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """The screener is optional: without answers the chat simply starts."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    page = await (await browser.new_context(locale="zh-CN")).new_page()
    await page.goto(f"{base}/chat")
    await page.click("#start")
    await expect(page.locator("#status")).to_contain_text("下一位")
    [contact] = await app[keys.CONVERSATIONS].queue()
    assert contact.risk is RiskLevel.NONE
