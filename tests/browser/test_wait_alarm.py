"""A supervisor cannot miss a person waiting past their risk level's target."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def test_supervisor_sees_the_wait_alarm_until_acknowledged(
    aiohttp_server: Any,
    app: web.Application,
    browser: Browser,
    clock: ManualClock,
    config: Config,
) -> None:
    """A high-risk chat waits past its target: a red banner names it until acknowledged."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("chen", "陈督导", Role.SUPERVISOR, PASSWORD)
    page = await console_login(browser, base, "chen")
    await expect(page.locator("#floor")).to_be_visible()

    contact, _ = await app[keys.CONVERSATIONS].start_webchat("nanling", "zh-CN")
    await app[keys.CONVERSATIONS].raise_risk(contact.id, RiskLevel.HIGH, "screener")
    clock.advance(seconds=config.wait_targets_seconds[RiskLevel.HIGH] + 5)
    banner = page.locator("#alarm-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(f"#{contact.id}")
    await expect(banner).to_contain_text("高风险")
    await page.click("#alarm-ack")
    await expect(banner).to_be_hidden()
