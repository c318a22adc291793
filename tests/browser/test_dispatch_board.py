"""The coordinators' board at /dispatch, and the console's "请求调度", in real Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from dispatch.rosters import on_call
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login, staff_page_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

JINGHU = "jinghu"


async def board_login(
    browser: Browser, base: str, username: str, errors: list[str], *, spy: bool = False
) -> Page:
    """A fresh zh-CN browser logged in and sent on to the board."""
    return await staff_page_login(browser, base, username, errors, "/dispatch", spy=spy)


def primary_name(app: web.Application, team_id: str) -> tuple[str, str]:
    """The id and name of a team's primary on call at the app's clock's now."""
    team = app[dispatch_keys.DISPATCH_CONFIG].teams.get(team_id)
    assert team is not None
    primary = team.member(on_call(team.roster, app[keys.CLOCK].now()).primary)
    assert primary is not None
    return primary.id, primary.name


async def test_a_coordinator_pages_acknowledges_and_resolves(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """On call for every team; a dispatch typed with the keyboard; paging with a running
    countdown; acknowledged on the responder's behalf; resolved; then the English switch."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("li", "李华", Role.COORDINATOR, PASSWORD)
    errors: list[str] = []
    page = await board_login(browser, base, "li", errors)

    board = await app[dispatch_keys.DESK].board_view()
    assert len(board["teams"]) == 11  # the city team, 8 districts, the reserve, supervisors
    for team in board["teams"]:
        row = page.locator(f'#oncall-body tr[data-team="{team["id"]}"]')
        await expect(row.locator("th")).to_contain_text(team["name_zh"])
        await expect(row.locator(".oncall-primary")).to_contain_text(
            team["on_call"]["primary"]["name"]
        )
        await expect(row.locator(".oncall-secondary")).to_contain_text(
            team["on_call"]["secondary"]["name"]
        )

    # A new dispatch for 镜湖区, keyboard only.
    await page.keyboard.press("Alt+N")
    await expect(page.locator("#nd-district")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(page.locator("#nd-district")).to_have_value(JINGHU)
    for _ in range(3):  # team (left to the district), risk (high by default), summary
        await page.keyboard.press("Tab")
    await expect(page.locator("#nd-summary")).to_be_focused()
    await page.keyboard.type("独居老人，情绪激动")
    await page.keyboard.press("Enter")

    card = page.locator(".dispatch-card").first
    await expect(card).to_contain_text("镜湖区")
    await expect(card.locator(".dispatch-state")).to_have_text("呼叫中")
    [dispatch] = (await app[dispatch_keys.DESK].board_view())["dispatches"]
    await expect(card.locator(".dispatch-title")).to_have_text(f"调度 #{dispatch['code']}")
    await expect(card.locator(".dispatch-summary")).to_have_text("独居老人，情绪激动")
    countdown = card.locator(".dispatch-countdown")
    await expect(countdown).to_have_text(re.compile(r"^[0-3]:\d\d$"))
    shown = await countdown.text_content()
    await expect(countdown).not_to_have_text(shown or "", timeout=3000)  # it runs
    await expect(card.locator(".dispatch-step")).to_contain_text("第 1 / 8 步")
    primary_id, primary = primary_name(app, JINGHU)
    await expect(card.locator(".page-log")).to_contain_text(primary)
    await expect(card.locator(".page-log")).to_contain_text("短信未发出：电话功能未开启")
    await expect(card.locator(".page-log")).to_contain_text("电话未拨出：电话功能未开启")
    banner = page.locator("#notify-banner")
    await expect(banner).to_have_attribute("role", "alert")
    await expect(banner).to_contain_text(f"新调度 #{dispatch['code']}")

    # The responder said yes on the phone: the coordinator records it for them.
    await card.locator(".ack-form select").select_option(f"{JINGHU}/{primary_id}")
    await card.locator(".ack-form input").fill("15")
    await card.locator(".ack-form button[type=submit]").press("Enter")
    await expect(card.locator(".dispatch-state")).to_have_text("已接受")
    accepted = card.locator(".dispatch-accepted")
    await expect(accepted).to_contain_text(primary)
    await expect(accepted).to_contain_text("预计 15 分钟到达")
    await expect(accepted).to_contain_text("由李华（调度员）代为确认")
    await expect(banner).to_contain_text(f"{primary} 已接受调度 #{dispatch['code']}")
    await expect(card.locator(".dispatch-countdown")).to_be_hidden()

    await card.locator(".resolve-form select").select_option("person_safe")
    await card.locator(".resolve-form button[type=submit]").press("Enter")
    await expect(card.locator(".dispatch-state")).to_have_text("已结案")
    await expect(card).to_contain_text("当事人已安全")
    await expect(card.locator(".dispatch-actions")).to_be_hidden()
    await page.keyboard.press("Alt+K")
    await expect(banner).to_be_hidden()

    await page.click("#lang-switch")
    await expect(card.locator(".dispatch-state")).to_have_text("Resolved")
    await expect(card).to_contain_text("Person safe")
    await expect(card).to_contain_text("Jinghu District")
    await expect(page.locator("#oncall-heading")).to_have_text("Who is on call")
    await expect(page.locator("#nd-submit")).to_have_text("Send dispatch and page now")
    assert errors == []


async def test_an_unanswered_page_escalates_and_the_board_says_so(
    aiohttp_server: Any, app: web.Application, browser: Browser, clock: ManualClock
) -> None:
    """A counsellor's request appears with a banner and a notification; three unanswered
    minutes later the next step pages the secondary, and the board says that too."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("li", "李华", Role.COORDINATOR, PASSWORD)
    errors: list[str] = []
    page = await board_login(browser, base, "li", errors, spy=True)
    await expect(page.locator("#oncall-body tr")).to_have_count(11)

    desk = app[dispatch_keys.DESK]
    row = await desk.request(actor="system", risk=RiskLevel.IMMINENT, district_id=JINGHU)
    card = page.locator(f"#dispatch-{row.id}")
    await expect(card.locator(".dispatch-state")).to_have_text("呼叫中")
    await expect(card.locator(".risk")).to_have_text("紧急危险")
    banner = page.locator("#notify-banner")
    await expect(banner).to_contain_text(f"新调度 #{row.code}")

    clock.advance(seconds=181)
    await expect(card.locator(".dispatch-step")).to_contain_text("第 2 / 8 步")
    await expect(banner).to_contain_text(f"调度 #{row.code} 无人接受，已升级到第 2 步")
    team = app[dispatch_keys.DISPATCH_CONFIG].teams.get(JINGHU)
    assert team is not None
    secondary = team.member(on_call(team.roster, clock.now()).secondary)
    assert secondary is not None
    await expect(card.locator(".page-log")).to_contain_text(secondary.name)
    notes = await page.evaluate("window.__notifications")
    assert [n["body"] for n in notes][:2] == [
        f"新调度 #{row.code}：正在呼叫镜湖区心理援助队（紧急危险）",
        f"调度 #{row.code} 无人接受，已升级到第 2 步：正在呼叫下一位",
    ]
    assert errors == []


async def test_a_counsellor_requests_dispatch_from_the_conversation(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """The form opens in the conversation with the contact's district and risk filled in;
    sending it shows the dispatch's code and state there."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    user = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    errors: list[str] = []
    page = await console_login(browser, base, "wang", errors=errors)
    conversations = app[keys.CONVERSATIONS]
    contact, _ = await conversations.start_webchat(JINGHU, "zh-CN")
    await conversations.raise_risk(contact.id, RiskLevel.HIGH, "screener")
    await page.click("#take-next")
    await expect(page.locator("#contact-title")).to_contain_text(f"#{contact.id}")

    await page.click("#dispatch-open")
    await expect(page.locator("#dispatch-request")).to_be_visible()
    await expect(page.locator("#dispatch-summary")).to_be_focused()
    await expect(page.locator("#dispatch-district")).to_have_value(JINGHU)
    await expect(page.locator("#dispatch-district option:checked")).to_have_text("镜湖区")
    await expect(page.locator("#dispatch-risk")).to_have_value("high")
    await expect(page.locator("#dispatch-summary")).to_have_value("")
    await page.keyboard.type("在江边，说已经准备好了")
    await page.keyboard.press("Control+Enter")

    result = page.locator("#dispatch-result")
    await expect(result).to_contain_text("已请求调度 #")
    [dispatch] = (await app[dispatch_keys.DESK].board_view())["dispatches"]
    await expect(result).to_contain_text(f"已请求调度 #{dispatch['code']}")
    await expect(result).to_contain_text("呼叫中")
    await expect(result).to_contain_text("镜湖区")
    await expect(page.locator("#dispatch-request")).to_be_hidden()
    assert dispatch["contact_id"] == contact.id
    assert dispatch["requested_by"] == f"user:{user.id}"
    assert dispatch["risk"] == "high" and dispatch["summary"] == "在江边，说已经准备好了"
    assert errors == []
