"""Surge mode in real Chromium: the chat page's announcement and "affected?" choice, and the
"事件" tag on the counsellor's console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, expect

from hotline.risk import RiskLevel
from hotline.surge import SurgeMode, end_surge, start_surge
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser
ServerFactory = Callable[[web.Application], Awaitable[TestServer]]
INCIDENT = 5
FLOOD = SurgeMode(
    incident_id=INCIDENT,
    ivr_announcement_zh="受近期洪涝灾害影响，本热线已启动应急服务。",
    ivr_announcement_en="Because of the flood, this line runs its emergency service.",
    chat_announcement_zh="本热线已启动洪涝灾害应急心理援助服务。如果您或家人受灾，请在开始时告诉我们。",
    chat_announcement_en="This line is running its flood emergency service.",
    affected_question_zh="如果您本人或家人受到这次洪涝灾害影响，请按1；否则请按2。",
    affected_question_en="If you or your family were affected by the flood, press 1.",
    affected_min_risk=RiskLevel.MODERATE,
)


async def _start_surge(app: web.Application) -> None:
    async with app[keys.DATABASE].transaction() as tx:
        await start_surge(tx, FLOOD)


async def test_person_says_affected_and_the_console_shows_the_tag(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """Announcement and a keyboard-usable yes/no; yes queues them tagged and raised, and the
    counsellor sees "事件" in the queue and in the conversation."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await _start_surge(app)
    errors: list[str] = []

    person = await (await browser.new_context(locale="zh-CN")).new_page()
    person.on("pageerror", lambda exc: errors.append(f"chat: {exc}"))
    await person.goto(f"{base}/chat")
    await expect(person.locator("#surge-announcement")).to_have_text(FLOOD.chat_announcement_zh)
    question = person.locator("#surge-question")
    await expect(question).to_be_visible()
    await expect(question.locator("legend")).to_contain_text("受到了这次事件的影响")

    # The language switch brings the English texts from the server, and back.
    await person.click("#lang-switch")
    await expect(person.locator("#surge-announcement")).to_have_text(FLOOD.chat_announcement_en)
    await expect(question.locator("legend")).to_contain_text("affected by this incident")
    await person.click("#lang-switch")
    await expect(person.locator("#surge-announcement")).to_have_text(FLOOD.chat_announcement_zh)

    # Keyboard only: from the district, Tab reaches the question, Space chooses "yes".
    await person.focus("#district")
    await person.keyboard.press("Tab")
    yes = person.locator('#surge-question input[value="yes"]')
    await expect(yes).to_be_focused()
    await person.keyboard.press("Space")
    await expect(yes).to_be_checked()
    await person.focus("#start")
    await person.keyboard.press("Enter")
    await expect(person.locator("#status")).to_contain_text("下一位")

    [contact] = await app[keys.CONVERSATIONS].queue()
    assert (contact.incident_id, contact.risk) == (INCIDENT, RiskLevel.MODERATE)

    counsellor = await console_login(browser, base, "wang", errors=errors)
    row = counsellor.locator("#queue .queue-item")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("事件")
    await counsellor.keyboard.press("Alt+n")
    await expect(counsellor.locator("#contact-incident")).to_be_visible()
    await expect(counsellor.locator("#contact-incident")).to_contain_text("事件")
    await expect(counsellor.locator("#my-contacts")).to_contain_text("事件")
    await expect(counsellor.locator("#contact-affected")).to_be_hidden()  # already tagged
    assert errors == []


async def test_counsellor_tags_a_person_who_did_not_answer(
    aiohttp_server: ServerFactory, app: web.Application, browser: Browser
) -> None:
    """The "受本次事件影响" button shows only during a surge, tags the held contact, then hides."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    errors: list[str] = []
    person = await (await browser.new_context(locale="zh-CN")).new_page()
    person.on("pageerror", lambda exc: errors.append(f"chat: {exc}"))
    await person.goto(f"{base}/chat")
    await expect(person.locator("#start")).to_be_enabled()
    await expect(person.locator("#surge-question")).to_be_hidden()  # no surge: no question
    await expect(person.locator("#surge-announcement")).to_be_hidden()
    await person.click("#start")
    await expect(person.locator("#status")).to_contain_text("下一位")

    counsellor = await console_login(browser, base, "wang", errors=errors)
    await counsellor.keyboard.press("Alt+n")
    await expect(counsellor.locator("#contact-title")).to_be_visible()
    button = counsellor.locator("#contact-affected")
    await expect(button).to_be_hidden()

    await _start_surge(app)  # declared while the counsellor is talking: the socket says so
    await expect(button).to_be_visible()
    await expect(button).to_have_text("受本次事件影响")
    await button.focus()
    await counsellor.keyboard.press("Enter")
    await expect(counsellor.locator("#contact-incident")).to_contain_text("事件")
    await expect(button).to_be_hidden()
    [contact] = await app[keys.CONVERSATIONS].in_conversation()
    assert contact.incident_id == INCIDENT

    async with app[keys.DATABASE].transaction() as tx:
        await end_surge(tx, INCIDENT)
    await expect(counsellor.locator("#contact-incident")).to_contain_text("事件")  # stays
    assert errors == []
