"""Real headless Chromium (Debian's package, never a downloaded browser) driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import PASSWORD

CHROMIUM = Path(os.environ.get("CHROMIUM_EXECUTABLE", "/usr/bin/chromium"))
CHROMIUM_PRESENT = CHROMIUM.exists()
# Without these, Chromium tries to reach Google's services, which this network refuses.
QUIET_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A fresh headless Chromium for one test."""
    if not CHROMIUM_PRESENT:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=QUIET_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def console_login(
    browser: Browser,
    base: str,
    username: str,
    *,
    available: bool = True,
    errors: list[str] | None = None,
) -> Page:
    """A fresh browser context logged in to the console (zh-CN), ready to take contacts.

    With `errors`, every uncaught page error from the first load on is appended to it.
    """
    page = await (await browser.new_context(locale="zh-CN")).new_page()
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(f"{username}: {exc}"))
    await page.goto(f"{base}/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}/console")
    if available:
        await expect(page.locator("#presence")).to_contain_text("可接听")
    return page


# Playwright cannot show a real desktop notification in headless Chromium; this stand-in
# records what the page asked the Notification API to show, with permission granted.
NOTIFICATION_SPY = """
window.__notifications = [];
window.Notification = class {
  constructor(title, options) { window.__notifications.push({ title, body: options.body }); }
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""


async def staff_page_login(
    browser: Browser,
    base: str,
    username: str,
    errors: list[str],
    path: str,
    *,
    spy: bool = False,
) -> Page:
    """A fresh zh-CN browser logged in and sent on to a staff page (`/dispatch`, ...).

    Every uncaught page error is appended to `errors`; with `spy`, desktop notifications are
    recorded in `window.__notifications`.
    """
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    if spy:
        await context.add_init_script(NOTIFICATION_SPY)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{username}: {exc}"))
    await page.goto(f"{base}/login?next={path}")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{base}{path}")
    return page
