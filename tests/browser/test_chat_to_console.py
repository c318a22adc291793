"""The whole path in real Chromium: a person chats at /chat, a counsellor answers at /console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]


async def test_person_chats_counsellor_answers_and_wraps_up(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """Chat → queue → take next (keyboard) → reply both ways → end → wrap-up closes it."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    errors: list[str] = []

    person = await (await browser.new_context(locale="zh-CN")).new_page()
    person.on("pageerror", lambda exc: errors.append(f"chat: {exc}"))
    await person.goto(f"{base}/chat")
    await person.select_option("#district", "jiujiang")
    await person.click("#start")
    await expect(person.locator("#status")).to_contain_text("下一位")  # first in the queue
    await person.fill("#message-input", "我这几天一直睡不着，很难受")
    await person.keyboard.press("Enter")
    await expect(person.locator(".message.from-caller .text")).to_have_text(
        ["我这几天一直睡不着，很难受"]
    )

    # Opening the console makes the counsellor available, and the page shows it.
    counsellor = await console_login(browser, base, "wang", errors=errors)
    await counsellor.click("#presence")
    await expect(counsellor.locator("#presence")).to_contain_text("休息中")
    await counsellor.keyboard.press("Alt+n")
    await expect(counsellor.locator("#take-next-message")).to_be_visible()  # on break: refused
    await counsellor.click("#presence")
    await expect(counsellor.locator("#presence")).to_contain_text("可接听")
    queue_row = counsellor.locator("#queue .queue-item")
    await expect(queue_row).to_have_count(1)
    await expect(queue_row).to_contain_text("鸠江区")
    await counsellor.keyboard.press("Alt+n")  # take next, without the mouse
    await expect(counsellor.locator("#conversation .message.from-caller .text")).to_have_text(
        ["我这几天一直睡不着，很难受"]
    )
    await expect(queue_row).to_have_count(0)

    await counsellor.fill("#reply", "我在这里听你说，慢慢讲。")
    await counsellor.keyboard.press("Enter")
    await expect(person.locator(".message.from-counsellor .text")).to_have_text(
        ["我在这里听你说，慢慢讲。"]
    )
    await person.fill("#message-input", "谢谢你")
    await person.click("#send")
    await expect(counsellor.locator("#conversation .message.from-caller .text")).to_have_text(
        ["我这几天一直睡不着，很难受", "谢谢你"]
    )

    await counsellor.fill("#note", "睡眠问题，情绪低落")
    await counsellor.click("#add-note")
    await expect(counsellor.locator("#notes")).to_contain_text("睡眠问题，情绪低落")

    await counsellor.click("#end-conversation")
    await counsellor.click("#end-conversation-confirm")  # an in-page confirm, keyboard-reachable
    await expect(person.locator("#ended-text")).to_be_visible()
    await expect(person.locator("#new-chat")).to_be_visible()  # the person may start anew
    wrap = counsellor.locator("#wrap-up")
    await expect(wrap).to_be_visible()
    await counsellor.select_option("#wrap-category", "emotional_distress")
    await counsellor.select_option("#wrap-outcome", "supported")
    await counsellor.select_option("#wrap-referral", "community_health")
    await counsellor.check("#wrap-follow-up-yes")
    # A web chat has no number of its own: consent to follow-up asks for one.
    await counsellor.fill("#wrap-follow-up-phone", "+86 138 0000 0000")
    await counsellor.fill("#wrap-summary", "失眠两周，已给予支持")
    await counsellor.click("#wrap-submit")
    await expect(wrap).to_be_hidden()

    conversations = app[keys.CONVERSATIONS]
    assert await conversations.in_conversation() == [], "the contact should be closed"
    closed = await conversations.get(1)
    assert closed.state.value == "closed" and closed.district == "jiujiang"
    wrap_up = await conversations.wrap_up_of(1)
    assert wrap_up is not None
    assert (wrap_up.referral, wrap_up.follow_up_wanted) == ("community_health", True)
    assert errors == []


async def test_language_switch_and_reconnect(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """The chat switches to English and back, and a reload resumes the same conversation."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{base}/chat")
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    zh_text = await page.locator("#start").inner_text()
    await page.click("#lang-switch")
    await expect(page.locator("#start")).not_to_have_text(zh_text)
    english = await page.locator("#start").inner_text()
    assert english.isascii(), english
    await page.click("#start")
    await page.fill("#message-input", "hello, is anyone there?")
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.from-caller .text")).to_have_count(1)
    await page.reload()
    await expect(page.locator(".message.from-caller .text")).to_have_text(
        ["hello, is anyone there?"]
    )
    await expect(page.locator("#start")).to_have_text(english)  # the choice is remembered
    assert await app[keys.CONVERSATIONS].queue_length() == 1


async def test_console_shows_waiting_person_live(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """The queue on an open console updates by itself when someone starts a chat."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("li", "李老师", Role.SUPERVISOR, PASSWORD)
    page = await console_login(browser, base, "li")
    await expect(page.locator("#floor")).to_be_visible()
    await expect(page.locator("#queue .queue-item")).to_have_count(0)
    await app[keys.CONVERSATIONS].start_webchat("wuwei", "zh-CN")
    await expect(page.locator("#queue .queue-item")).to_have_count(1)
    await expect(page.locator("#queue .queue-item")).to_contain_text("无为县")


async def test_pages_carry_the_configured_hotline_name(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """The city's own name from config heads the pages, in both languages."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{base}/chat")
    await expect(page.locator(".brand")).to_have_text("芜湖市心理援助热线")
    await expect(page).to_have_title("在线倾诉 · 芜湖市心理援助热线")
    await page.click("#lang-switch")
    await expect(page.locator(".brand")).to_have_text("Wuhu Psychological Assistance Hotline")
