"""Someone in danger now is offered to every counsellor's console at once."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def test_urgent_offer_reaches_both_consoles_and_one_takes_it(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Both consoles show the urgent banner; Alt+U on one takes it, the other's banner goes."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    for name in ("wang", "li"):
        await app[keys.USERS].add(name, f"{name}老师", Role.COUNSELLOR, PASSWORD)
    wang = await console_login(browser, base, "wang")
    li = await console_login(browser, base, "li")
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
