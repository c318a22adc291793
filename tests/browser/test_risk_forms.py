"""The counsellor's risk assessment (C-SSRS) and imminent-risk checklist in the console."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


async def _answer(page: Page, answers: dict[str, str], behaviour: str) -> None:
    for name, value in answers.items():
        await page.check(f'#assessment input[name="{name}"][value="{value}"]')
    await page.check(f'#assessment input[name="behaviour"][value="{behaviour}"]')


async def test_assessment_sets_level_and_lowering_needs_a_reason(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Intent → high; lowering to none is refused without a reason, accepted with one."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    errors: list[str] = []
    page = await console_login(browser, base, "wang", errors=errors)
    conversations = app[keys.CONVERSATIONS]
    contact, _ = await conversations.start_webchat(None, "zh-CN")
    await page.click("#take-next")
    await expect(page.locator("#conversation")).to_have_attribute(
        "data-contact-id", str(contact.id)
    )
    await expect(page.locator("#protocol")).to_be_hidden()

    await page.locator("#assessment > summary").click()
    no = {q: "no" for q in ("wish_dead", "suicidal_thoughts", "method", "intent", "plan")}
    await _answer(
        page, {**no, "wish_dead": "yes", "suicidal_thoughts": "yes", "intent": "yes"}, "none"
    )
    await page.check("#pf-family_support")
    await page.fill("#safety-plan", "和姐姐待在一起")
    await page.click("#assessment-submit")
    await expect(page.locator("#assessment-result")).to_contain_text("高")
    await expect(page.locator("#contact-risk")).to_have_text("高")
    assert (await conversations.get(contact.id)).risk is RiskLevel.HIGH

    await _answer(page, no, "none")
    await page.click("#assessment-submit")
    await expect(page.locator("#assessment-error")).to_be_visible()
    await expect(page.locator("#assessment-reason")).to_be_focused()
    assert (await conversations.get(contact.id)).risk is RiskLevel.HIGH

    await page.fill("#assessment-reason", "对方说刚才是气话，已和家人在一起")
    await page.click("#assessment-submit")
    await expect(page.locator("#assessment-result")).to_contain_text("无风险")
    await expect(page.locator("#assessment-error")).to_be_hidden()
    assert (await conversations.get(contact.id)).risk is RiskLevel.NONE
    assert errors == []


async def test_imminent_contact_shows_checklist_and_records_steps(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """An imminent contact opens the checklist; steps are recorded with note and service."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    errors: list[str] = []
    page = await console_login(browser, base, "wang", errors=errors)
    conversations = app[keys.CONVERSATIONS]
    contact, _ = await conversations.start_webchat(None, "zh-CN")
    await conversations.raise_risk(contact.id, RiskLevel.IMMINENT, "text_scanner", ["x"])
    await page.click("#take-next")
    await expect(page.locator("#conversation")).to_have_attribute(
        "data-contact-id", str(contact.id)
    )
    checklist = page.locator("#protocol")
    await expect(checklist).to_be_visible()
    await expect(checklist.locator('li[data-step="supervisor_alerted"]')).to_contain_text("✓")
    await expect(checklist.locator(".protocol-step")).to_have_count(5)

    await page.fill("#protocol-note", "在江边公园北门")
    await page.click("#protocol-location_asked")
    await expect(checklist.locator('li[data-step="location_asked"]')).to_have_attribute(
        "data-done", "true"
    )
    await expect(page.locator("#protocol-note")).to_have_value("")

    await page.select_option("#protocol-service", "none")
    await page.click("#protocol-emergency_services")
    await expect(page.locator("#protocol-error")).to_be_visible()
    await page.select_option("#protocol-service", "120")
    await page.click("#protocol-emergency_services")
    await expect(checklist.locator('li[data-step="emergency_services"]')).to_contain_text("120")

    steps = await conversations.protocol_steps(contact.id)
    by_step = {s["step"]: s for s in steps}
    assert by_step["location_asked"]["note"] == "在江边公园北门"
    assert by_step["emergency_services"]["service"] == "120"
    assert by_step["emergency_services"]["done"] is True
    assert errors == []


async def test_risk_rise_opens_checklist_and_alerts_supervisor(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Risk raised to imminent mid-chat: the counsellor is told, the supervisor is alerted."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await app[keys.USERS].add("zhao", "赵督导", Role.SUPERVISOR, PASSWORD)
    errors: list[str] = []
    supervisor = await console_login(browser, base, "zhao", errors=errors)
    await supervisor.click("#presence")  # on break: the counsellor takes the chat
    await expect(supervisor.locator("#presence")).to_contain_text("休息中")
    page = await console_login(browser, base, "wang", errors=errors)
    conversations = app[keys.CONVERSATIONS]
    contact, _ = await conversations.start_webchat(None, "zh-CN")
    await page.click("#take-next")
    await expect(page.locator("#conversation")).to_have_attribute(
        "data-contact-id", str(contact.id)
    )
    await expect(page.locator("#protocol")).to_be_hidden()
    await expect(page.locator("#protocol-show")).to_be_visible()

    await conversations.raise_risk(contact.id, RiskLevel.IMMINENT, "text_scanner", ["x"])
    await expect(page.locator("#risk-rise")).to_contain_text("风险升高：现在为紧急")
    await expect(page.locator("#protocol")).to_be_visible()
    await expect(page.locator("#contact-risk")).to_contain_text("紧急")
    banner = supervisor.locator("#imminent-banner")
    await expect(banner).to_contain_text(f"#{contact.id}：咨询员正在处理一位处于紧急危险中的求助者")
    await supervisor.click("#imminent-ack")
    await expect(banner).to_be_hidden()
    assert errors == []
