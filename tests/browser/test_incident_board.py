"""The incident board (/incidents) and its report page in real Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from dispatch.web import keys as dispatch_keys
from hotline.surge import current_surge
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import staff_page_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

NAME, PHONE = "李秀英", "+8613700001111"


async def test_a_coordinator_declares_a_flood_works_it_and_stands_it_down(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Declared from the keyboard; the roll-up and checklist show; a step is ticked, a
    person registered (by pseudonym only), the incident stood down and the report opened."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("zhao", "赵协调", Role.COORDINATOR, PASSWORD)
    errors: list[str] = []
    page = await staff_page_login(browser, base, "zhao", errors, "/incidents")

    await expect(page.locator("#declare-heading")).to_have_text("宣布启动应急预案")
    await expect(page.locator("#incident")).to_be_hidden()
    await page.locator("#declare-plan").focus()
    await page.select_option("#declare-plan", "flood")
    await expect(page.locator("#declare-plan-info")).to_contain_text("所选区县的队伍")
    await page.keyboard.press("Tab")
    await expect(page.locator('#declare-districts input[value="jinghu"]')).to_be_focused()
    await page.keyboard.press("Space")
    await page.locator('#declare-districts input[value="wuwei"]').focus()
    await page.keyboard.press("Space")
    await page.locator("#declare-description").focus()
    await page.keyboard.type("江堤决口")
    await page.keyboard.press("Control+Enter")

    await expect(page.locator("#incident")).to_be_visible()
    await expect(page.locator("#incident-title")).to_have_text("自然灾害：洪涝")
    await expect(page.locator("#incident-description")).to_have_text("江堤决口")
    await expect(page.locator("#rollup")).to_have_text("0/3 支队伍已接受")
    await expect(page.locator("#teams-body tr")).to_have_count(3)
    # The flood plan calls in four reserve counsellors; nobody has answered yet.
    await expect(page.locator("#reserve-rollup")).to_have_text("0/4 人将到岗")
    await expect(page.locator("#reserve-list li")).to_have_count(4)
    await expect(page.locator("#stand-down kbd")).to_have_text("Alt+X")
    steps = page.locator("#checklist-list .in-step")
    await expect(steps.first).to_contain_text("与应急指挥部确认受灾范围")
    surge = await current_surge(app[keys.DATABASE])
    assert surge is not None

    await page.keyboard.press("Alt+c")
    await expect(page.locator("#checklist-list .in-step-done").first).to_be_focused()
    # Another coordinator files a situation report: the board is redrawn, and the step's
    # button this coordinator tabbed to keeps the focus (their Enter must not be lost).
    other = await app[keys.USERS].add("qian", "钱协调", Role.COORDINATOR, PASSWORD)
    await app[dispatch_keys.INCIDENTS].add_sitrep(surge.incident_id, other, "各安置点已开放")
    await expect(page.locator("#sitrep-due")).to_contain_text("已报送 1 份")
    await expect(page.locator("#checklist-list .in-step-done").first).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(steps.first).to_have_class(re.compile(r"in-done"))
    await expect(steps.first).to_contain_text("已完成")

    await page.keyboard.press("Alt+r")
    await expect(page.locator("#person-district")).to_be_focused()
    await page.select_option("#person-tier", "1")
    await page.locator('#person-exposures input[value="bereaved"]').check()
    await page.fill("#person-name", NAME)
    await page.fill("#person-phone", PHONE)
    await page.click("#person-submit")
    await expect(page.locator("#person-result")).to_contain_text("建立随访个案")
    rows = page.locator("#registry-body tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("P-")
    await expect(rows.first).to_contain_text("亲人遇难")
    await expect(page.locator("#person-name")).to_have_value("")
    assert NAME not in await page.locator("#registry").inner_text()
    assert PHONE not in await page.locator("#registry").inner_text()

    await page.click("#lang-switch")
    await expect(page.locator("#rollup")).to_have_text("0 of 3 teams accepted")
    await expect(page.locator("#stand-down")).to_contain_text("Stand down")
    await page.click("#lang-switch")

    await page.keyboard.press("Alt+x")
    await expect(page.locator("#stand-down-confirm")).to_be_visible()
    await expect(page.locator("#stand-down-yes")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/incidents/\d+/report$"))
    await expect(page.locator("#report-title")).to_have_text("自然灾害：洪涝")
    await expect(page.locator("#people-total")).to_have_text("1")
    await expect(page.locator("#report-body")).to_contain_text("宣布解除应急响应")
    report_text = await page.locator("body").inner_text()
    assert NAME not in report_text and PHONE not in report_text
    assert await current_surge(app[keys.DATABASE]) is None
    assert await app[dispatch_keys.INCIDENTS].active() is None
    assert errors == []
