"""Follow-up pages (/followups, /followups/{id}) in real Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from dispatch.followups.cases import Owner
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import staff_page_login
from tests.conftest import PASSWORD
from tests.followups.pages import JINGHU, open_case

pytestmark = pytest.mark.browser


async def followups_login(
    browser: Browser, base: str, username: str, errors: list[str], *, spy: bool = False
) -> Page:
    """A fresh zh-CN browser logged in and sent on to the follow-up lists."""
    return await staff_page_login(browser, base, username, errors, "/followups", spy=spy)


async def test_a_counsellor_works_an_overdue_case_with_the_keyboard(
    aiohttp_server: Any, app: web.Application, browser: Browser, clock: ManualClock
) -> None:
    """The overdue case is listed first, in red; its alarm shows as a banner and a desktop
    notification; the case opens from the keyboard, an attempt is recorded with it, and the
    next due date moves to the 72-hour follow-up (shown in Shanghai time)."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    wang = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    start = clock.now()  # Monday 11-23, 11:00 in Shanghai
    late = await open_case(app, owner=Owner(user_id=wang.id))  # due Tuesday 11:00
    clock.advance(hours=24, minutes=30)  # due, not yet alarmed
    later = await open_case(app, owner=Owner(user_id=wang.id))
    errors: list[str] = []
    page = await followups_login(browser, base, "wang", errors, spy=True)

    overdue = page.locator("#list-overdue .fu-item")
    await expect(overdue).to_have_count(1)
    await expect(overdue.first).to_contain_text(late.pseudonym)
    await expect(overdue.first).to_contain_text("已逾期 30 分钟")
    await expect(overdue.first).to_contain_text("高风险")
    await expect(overdue.first).to_have_class(re.compile(r"fu-item-overdue"))
    await expect(page.locator("#list-upcoming .fu-item")).to_contain_text(later.pseudonym)
    await expect(page.locator("#list-upcoming")).to_contain_text("明天 11:30")
    await expect(page.locator("#count-overdue")).to_have_text("1")
    await expect(page.locator("#scope-panel")).to_be_hidden()
    await expect(page.locator("#go-new kbd")).to_have_text("N")

    clock.advance(minutes=31)  # an hour past due: the owner's alarm
    await app[dispatch_keys.FOLLOWUPS].fire_due()
    banner = page.locator("#alarm-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("role", "alert")
    await expect(banner).to_contain_text(f"{late.pseudonym} 的随访已逾期")
    notes = await page.evaluate("window.__notifications")
    assert any(late.pseudonym in n["body"] for n in notes), notes
    await page.keyboard.press("k")
    await expect(banner).to_be_hidden()

    await page.keyboard.press("o")
    await expect(page.locator("#list-overdue a.fu-open").first).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/followups/{late.id}")
    await expect(page.locator("#case-title")).to_have_text(late.pseudonym)
    due = page.locator("#case-due")
    await expect(due).to_contain_text("已逾期")
    await expect(due).to_contain_text("今天 11:00")  # hotline time, not the browser's

    await page.keyboard.press("a")
    await expect(page.locator('#attempt-form input[value="reached"]')).to_be_focused()
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    await expect(page.locator("#attempt-risk")).to_be_focused()
    await page.keyboard.press("ArrowDown")  # 紧急危险
    await page.keyboard.press("ArrowDown")  # 高风险
    await expect(page.locator("#attempt-risk")).to_have_value("high")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await expect(page.locator("#attempt-note")).to_be_focused()
    await page.keyboard.type("睡眠好一些，周末女儿回家")
    await page.keyboard.press("Control+Enter")

    await expect(page.locator("#attempt-result")).to_contain_text("已保存")
    await expect(due).not_to_contain_text("已逾期")
    await expect(due).to_contain_text("11-26 周四 11:00")  # start + 72 h, in Shanghai
    timeline = page.locator("#attempt-list")
    await expect(timeline).to_contain_text("联系上了本人")
    await expect(timeline).to_contain_text("睡眠好一些，周末女儿回家")
    await expect(timeline).to_contain_text("王老师")
    await expect(page.locator("#schedule-list .is-done")).to_have_count(1)
    case = await app[dispatch_keys.FOLLOWUPS].cases.get(late.id)
    assert case is not None and case.next_due_at is not None
    assert (case.next_due_at - start).total_seconds() == 72 * 3600

    await page.click("#lang-switch")
    await expect(due).to_contain_text("Thu 11:00")
    await expect(page.locator("#attempt-heading")).to_contain_text("Record an attempt")
    await expect(timeline).to_contain_text("Reached the person")
    assert errors == []


async def test_a_supervisor_closes_a_flagged_case_with_a_reason(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """The scope selector shows all cases or the flagged ones; closing without a reason says
    what is missing; with one, the case is closed and its forms are gone."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    wang = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await app[keys.USERS].add("li", "李督导", Role.SUPERVISOR, PASSWORD)
    referral = await open_case(app, owner=Owner(user_id=wang.id), grade=4)
    quiet = await open_case(app, owner=Owner(team_id=JINGHU), risk=RiskLevel.MODERATE)
    errors: list[str] = []
    page = await followups_login(browser, base, "li", errors)

    await expect(page.locator("#scope-panel")).to_be_visible()
    await expect(page.locator("#scope")).to_have_value("all")
    upcoming = page.locator("#list-upcoming .fu-item")
    await expect(upcoming).to_have_count(2)
    await expect(page.locator("#list-upcoming")).to_contain_text("镜湖区心理援助队")
    await expect(page.locator("#undecided")).to_be_visible()
    await page.select_option("#scope", "flagged")
    await expect(upcoming).to_have_count(1)
    await expect(upcoming.first).to_contain_text(referral.pseudonym)
    await expect(upcoming.first).to_contain_text("需要转介")
    await expect(upcoming.first).to_contain_text("负责人：王老师（咨询员）")
    assert "scope=flagged" in page.url
    await page.select_option("#scope", f"team:{JINGHU}")
    await expect(upcoming).to_have_count(1)
    await expect(upcoming.first).to_contain_text(quiet.pseudonym)
    await page.select_option("#scope", "flagged")

    await upcoming.first.locator("a").click()
    await page.wait_for_url(f"{base}/followups/{referral.id}")
    await expect(page.locator("#case-grade")).to_contain_text("4 级")
    await expect(page.locator("#case-grade")).to_contain_text("需转介")
    await page.keyboard.press("c")
    await expect(page.locator("#close-reason")).to_be_focused()
    await page.click("#close-submit")
    error = page.locator("#close-error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("结案必须选择原因")
    await expect(page.locator("#close-reason")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#case-state")).to_have_text("进行中")

    await page.select_option("#close-reason", "in_care")
    await page.click("#close-submit")
    await expect(page.locator("#case-state")).to_have_text("已结案")
    await expect(page.locator("#closed-text")).to_contain_text("已转介并接受专业照护")
    await expect(page.locator("#attempt")).to_be_hidden()
    await expect(page.locator("#close-form")).to_be_hidden()
    await expect(page.locator("#case-due")).to_contain_text("已结案，不再随访")
    case = await app[dispatch_keys.FOLLOWUPS].cases.get(referral.id)
    assert case is not None and case.close_reason == "in_care"
    assert errors == []


async def test_the_case_page_follows_another_session_live(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """A supervisor records an attempt in another browser: the counsellor's open case page
    shows it and the new due date without reloading; the audited "show number" says it
    was recorded."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    wang = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await app[keys.USERS].add("li", "李督导", Role.SUPERVISOR, PASSWORD)
    case = await open_case(app, owner=Owner(user_id=wang.id), phone="+8613800138000", name="张秀英")
    errors: list[str] = []
    counsellor = await followups_login(browser, base, "wang", errors)
    await counsellor.goto(f"{base}/followups/{case.id}")
    await expect(counsellor.locator("#case-title")).to_have_text(case.pseudonym)
    await expect(counsellor.locator("#timeline-empty")).to_be_visible()
    assert "13800138000" not in await counsellor.content()
    await counsellor.evaluate("window.__stillHere = true")
    due = counsellor.locator("#case-due")
    await expect(due).to_contain_text("明天 11:00")

    supervisor = await followups_login(browser, base, "li", errors)
    await supervisor.goto(f"{base}/followups/{case.id}")
    await expect(supervisor.locator("#case-title")).to_have_text(case.pseudonym)
    await supervisor.check('#attempt-form input[value="no_answer"]')
    await supervisor.fill("#attempt-note", "响了很久无人接")
    await supervisor.click("#attempt-submit")
    await expect(supervisor.locator("#attempt-result")).to_contain_text("已保存")

    timeline = counsellor.locator("#attempt-list")
    await expect(timeline).to_contain_text("无人接听")
    await expect(timeline).to_contain_text("响了很久无人接")
    await expect(timeline).to_contain_text("李督导")
    await expect(counsellor.locator("#case-failed")).to_have_text("1 次")
    assert await counsellor.evaluate("window.__stillHere") is True, "the page was reloaded"

    await counsellor.keyboard.press("p")
    await expect(counsellor.locator("#details-show")).to_be_focused()
    await counsellor.keyboard.press("Enter")
    await expect(counsellor.locator("#details-phone")).to_have_text("+8613800138000")
    await expect(counsellor.locator("#details-name")).to_have_text("张秀英")
    await expect(counsellor.locator("#details-audited")).to_contain_text("已被记录")
    events = await app[keys.DATABASE].events_for(f"followup:{case.id}")
    assert [e.actor for e in events if e.kind == "audit.case_details_read"] == [f"user:{wang.id}"]
    await expect(counsellor.locator("#history-list")).to_contain_text("查看了联系方式")
    assert errors == []
