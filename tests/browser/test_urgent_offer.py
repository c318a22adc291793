"""Someone in danger now is offered to every counsellor's console at once."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def _console(browser: Browser, base: str, username: str) -> Page:
    page = await (await browser.new_context(locale="zh-CN")).new_page()
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/console")
    await expect(page.locator("#presence")).to_contain_text("可接听")
    return page


async def test_urgent_offer_reaches_both_consoles_and_one_takes_it(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Both consoles show the urgent banner; Alt+U on one takes it, the other's banner goes."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    for name in ("wang", "li"):
        await app[keys.USERS].add(name, f"{name}老师", Role.COUNSELLOR, PASSWORD)
    wang = await _console(browser, base, "wang")
    li = await _console(browser, base, "li")
    conversations = app[keys.CONVERSATIONS]
    await conversations.start_webchat(None, "zh-CN")  # someone calmer, waiting longer
    contact, _ = await conversations.start_webchat("wuwei", "zh-CN")
    await conversations.raise_risk(contact.id, RiskLevel.IMMINENT, "text_scanner", ["zh.act"])
    for page in (wang, li):
        await expect(page.locator("#urgent-banner")).to_contain_text(f"#{contact.id}")
    await li.keyboard.press("Alt+u")
    await expect(li.locator("#conversation")).to_have_attribute("data-contact-id", str(contact.id))
    await expect(wang.locator("#urgent-banner")).to_be_hidden()
    await expect(li.locator("#urgent-banner")).to_be_hidden()
    taken = await conversations.get(contact.id)
    assert taken.state.value == "active"
