"""Starting a chat while the store does not answer, in real Chromium: the person is kept on a
"please stay" screen, the page sends the same start again by itself, and Cancel (by
keyboard) returns them to the form with everything they entered.

The store's outage is stood in for here: the app runs on its usual SQLite store, its
`unreachable` is set to `(OSError,)` and `Conversations.start_webchat` raises
`ConnectionRefusedError` (an OSError) while the test says the store is away, so the server
answers exactly what it answers in a real outage (503 `store_unavailable`, `Retry-After`).
The real outage, PostgreSQL cut off behind a relay, is proven at the API in
tests/store/test_chat_outage.py.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, Page, expect

from hotline.channels import webchat
from hotline.contacts import Contact, ContactState
from hotline.conversations import Conversations
from hotline.risk import RiskLevel
from hotline.web import keys

pytestmark = pytest.mark.browser
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


class StoreAway:
    """`start_webchat` as in an outage while `away`; `gate`, when set, holds a try midway."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.away = True
        self.refused = 0
        self.gate: asyncio.Event | None = None
        self.held = 0
        self.kept: list[Contact] = []
        start = Conversations.start_webchat

        async def start_webchat(self_: Conversations, *args: Any, **kwargs: Any) -> Any:
            if self.away:
                self.refused += 1
                raise ConnectionRefusedError("stand-in: the store does not answer")
            if self.gate is not None:
                self.held += 1
                await self.gate.wait()
            contact, token = await start(self_, *args, **kwargs)
            self.kept.append(contact)
            return contact, token

        monkeypatch.setattr(Conversations, "start_webchat", start_webchat)


async def serve(
    aiohttp_server: ServerFactory, app: web.Application, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, StoreAway]:
    # The page is asked to wait 1 s (not 5) between tries: the test need not wait as long.
    monkeypatch.setattr(webchat, "STORE_RETRY_AFTER_S", 1)
    away = StoreAway(monkeypatch)
    server = await aiohttp_server(app)
    app[keys.DATABASE].unreachable = (OSError,)
    return str(server.make_url("")).rstrip("/"), away


async def until(test: Callable[[], Awaitable[bool] | bool], seconds: float = 15.0) -> None:
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            answer = test()
            if await answer if not isinstance(answer, bool) else answer:
                return
            await asyncio.sleep(0.05)


async def chat_page(browser: Browser, base: str, errors: list[str]) -> Page:
    page = await (await browser.new_context(locale="zh-CN")).new_page()
    page.on("pageerror", lambda exc: errors.append(f"chat: {exc}"))
    await page.goto(f"{base}/chat")
    await expect(page.locator('#district option[value="jinghu"]')).to_have_count(1)
    return page


async def fill_in(page: Page) -> None:
    """A district and two screener answers that make the risk high."""
    await page.select_option("#district", "jinghu")
    await page.click("#screener summary")
    await page.check('input[name="suicidal_thoughts"][value="yes"]')
    await page.check('input[name="acted"][value="within_3_months"]')


async def test_the_page_waits_retries_and_cancel_keeps_what_was_entered(
    aiohttp_server: ServerFactory,
    app: web.Application,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Store away: the waiting screen (zh-CN, then English), Cancel by keyboard back to the
    filled-in form; started again, the page retries by itself until the store is back,
    and the chat goes on as any day with one contact carrying what the person entered."""
    base, away = await serve(aiohttp_server, app, monkeypatch)
    errors: list[str] = []
    page = await chat_page(browser, base, errors)
    await fill_in(page)
    await page.focus("#start")
    await page.keyboard.press("Enter")

    waiting = page.locator("#waiting")
    await expect(waiting).to_be_visible()
    await expect(page.locator("#waiting-title")).to_have_text("请不要离开，正在为您接通…")
    await expect(waiting).to_contain_text("页面会自动重试")
    await expect(waiting).to_contain_text("110")
    await expect(page.locator("#intro")).to_be_hidden()
    await expect(page.locator("#notice")).to_be_hidden()  # no error: this is not a failure
    await expect(page.locator("#waiting-title")).to_be_focused()

    # Cancel by keyboard: Tab from the message reaches it, Enter goes back to the form.
    await page.keyboard.press("Tab")
    await expect(page.locator("#waiting-cancel")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(waiting).to_be_hidden()
    await expect(page.locator("#intro")).to_be_visible()
    await expect(page.locator("#notice")).to_contain_text("已取消")
    await expect(page.locator("#start")).to_be_focused()
    await expect(page.locator("#start")).to_be_enabled()
    await expect(page.locator("#district")).to_have_value("jinghu")
    await expect(page.locator('input[name="acted"][value="within_3_months"]')).to_be_checked()
    refused_before = away.refused
    await asyncio.sleep(2.5)  # cancelled: no more tries
    assert away.refused == refused_before
    assert await app[keys.CONVERSATIONS].queue() == []

    # Started again and left alone: the page tries again by itself, in English once switched.
    await page.keyboard.press("Enter")
    await expect(waiting).to_be_visible()
    await page.click("#lang-switch")
    await expect(page.locator("#waiting-title")).to_have_text(
        "Please stay — we are connecting you…"
    )
    await expect(waiting).to_contain_text("keeps trying by itself")
    await expect(page.locator("#waiting-retry")).to_have_text(
        re.compile(r"Trying again in \d+ s\.|Trying…")
    )
    await until(lambda: away.refused >= refused_before + 3)  # the first try and two retries
    await expect(waiting).to_be_visible()
    await expect(page.locator("#intro")).to_be_hidden()

    away.away = False  # the store answers again
    await expect(page.locator("#status")).to_contain_text("Connecting you to a counsellor")
    await expect(waiting).to_be_hidden()
    await expect(page.locator("#message-input")).to_be_focused()
    [contact] = await app[keys.CONVERSATIONS].queue()
    assert (contact.district, contact.risk, contact.lang) == ("jinghu", RiskLevel.HIGH, "en")

    # The chat goes on as any day.
    await page.fill("#message-input", "hello")
    await page.keyboard.press("Enter")
    await expect(page.locator("#messages .from-caller")).to_have_count(1)
    assert errors == []


async def test_a_try_that_lands_after_cancel_is_ended_not_left_in_the_queue(
    aiohttp_server: ServerFactory,
    app: web.Application,
    browser: Browser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A retry under way when the person cancels, and kept after all: nobody will come to
    that conversation, so the page ends it at once (abandoned by the person) and stays on
    the form."""
    base, away = await serve(aiohttp_server, app, monkeypatch)
    errors: list[str] = []
    page = await chat_page(browser, base, errors)
    await page.select_option("#district", "jinghu")
    await page.click("#start")
    await expect(page.locator("#waiting")).to_be_visible()

    away.gate = asyncio.Event()
    away.away = False  # the next try gets through to the store, slowly
    await until(lambda: away.held == 1)
    await page.click("#waiting-cancel")
    await expect(page.locator("#intro")).to_be_visible()
    away.gate.set()

    conversations = app[keys.CONVERSATIONS]
    await until(lambda: len(away.kept) == 1)

    async def abandoned() -> bool:
        contact = await conversations.get(away.kept[0].id)
        return contact.state is ContactState.ABANDONED and contact.ended_by == "caller"

    await until(abandoned)
    assert await conversations.queue() == []
    await expect(page.locator("#intro")).to_be_visible()
    await expect(page.locator("#chat")).to_be_hidden()
    await expect(page.locator("#district")).to_have_value("jinghu")
    assert errors == []
