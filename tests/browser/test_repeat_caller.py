"""A repeat caller in real Chromium: the strip, the audited history (Alt+Y), and the wrap-up's
follow-up decision at high risk."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from hotline.counsellors import Presence
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SUMMARY = "上次来访：失眠两周，和姐姐同住，已制定安全计划"


async def test_counsellor_sees_a_repeat_caller_and_records_the_follow_up_decision(
    aiohttp_server: Any, app: web.Application, browser: Browser
) -> None:
    """Count and last risk on the strip; Alt+Y opens the history (recorded); a high-risk
    wrap-up is refused without a follow-up decision and accepted with "no" and a reason."""
    asked: list[str] = []

    async def lookup(person_hash: str) -> list[dict[str, object]]:
        asked.append(person_hash)
        due = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        return [{"id": 7, "pseudonym": "F-7K3Q", "risk": "high", "next_due_at": due, "owner": ""}]

    async def case_lookup_ctx(app: web.Application) -> AsyncIterator[None]:
        app[keys.CASE_LOOKUP] = lookup  # stands in for dispatch's follow-up cases
        yield

    app.cleanup_ctx.append(case_lookup_ctx)
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    wang = await app[keys.USERS].add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    conversations = app[keys.CONVERSATIONS]
    identity = secrets.token_urlsafe(32)

    # The person's first chat, a week ago in the story: high risk, declined follow-up.
    first, _ = await conversations.start_webchat(None, "zh-CN", identity)
    await app[keys.COUNSELLORS].set_presence(wang.id, Presence.AVAILABLE)
    assert (await conversations.take_next(wang.id)) is not None
    await conversations.raise_risk(first.id, RiskLevel.HIGH, "screener", ["test"])
    await conversations.counsellor_end(first.id, wang.id)
    await conversations.wrap_up(
        first.id,
        wang.id,
        {
            "category": "suicidal_ideation",
            "outcome": "safety_plan",
            "referral": "none",
            "follow_up_wanted": False,
            "follow_up_reason": "person_declined",
            "key_groups": [],
            "summary": SUMMARY,
        },
    )
    # They come back, from the same browser, and the screener says high again.
    second, _ = await conversations.start_webchat(None, "zh-CN", identity)
    await conversations.raise_risk(second.id, RiskLevel.HIGH, "screener", ["test"])

    errors: list[str] = []
    page = await console_login(browser, base, "wang", errors=errors)
    await page.keyboard.press("Alt+n")
    strip = page.locator("#caller-strip")
    await expect(strip).to_contain_text("第 2 次联系")
    await expect(strip).to_contain_text("上次风险：高")
    case = strip.locator("a.caller-case-link")
    await expect(case).to_have_text("F-7K3Q")
    await expect(case).to_have_attribute("href", "/followups/7")
    await expect(strip).to_contain_text("下次 11月30日")
    await expect(page.locator("#history-open-hint")).to_have_text("打开历史会被记录")
    await expect(page.locator("#history")).to_be_hidden()
    assert set(asked) == {conversations.chat_identity_hash(identity)}

    db = app[keys.DATABASE]
    await page.keyboard.press("Alt+y")  # open the history without the mouse
    history = page.locator("#history")
    await expect(history).to_be_visible()
    await expect(history).to_be_focused()
    await expect(history).to_contain_text(SUMMARY)
    await expect(history).to_contain_text("本人拒绝随访")
    await expect(page.locator("#history-recorded")).to_contain_text("已记录")
    audits = [e for e in await db.events_for(f"contact:{second.id}") if e.kind.startswith("audit")]
    assert [(e.kind, e.data) for e in audits] == [
        ("audit.history_opened", {"earlier_contacts": 1, "purpose": "serving_contact"})
    ]
    await page.keyboard.press("Escape")
    await expect(history).to_be_hidden()
    await expect(page.locator("#conversation-pane")).not_to_contain_text(SUMMARY)

    await page.click("#end-conversation")
    await page.click("#end-conversation-confirm")
    wrap = page.locator("#wrap-up")
    await expect(wrap).to_be_visible()
    await expect(page.locator("#wrap-follow-up-required")).to_have_text("必填：本次风险为高")
    await page.select_option("#wrap-category", "suicidal_ideation")
    await page.select_option("#wrap-outcome", "supported")
    await page.click("#wrap-submit")
    refusal = page.locator("#wrap-follow-up-error")
    await expect(refusal).to_be_visible()
    await expect(refusal).to_contain_text("请选择对方是否同意随访")
    await expect(page.locator("#wrap-follow-up-yes")).to_be_focused()
    assert (await conversations.get(second.id)).state.value == "wrap_up"

    await page.keyboard.press("ArrowDown")  # the radio group by keyboard: to "不随访"
    await expect(page.locator("#wrap-follow-up-no")).to_be_checked()
    await expect(refusal).to_be_hidden()
    await page.select_option("#wrap-follow-up-reason", "could_not_ask")
    await page.click("#wrap-submit")
    await expect(wrap).to_be_hidden()
    wrapped = await conversations.wrap_up_of(second.id)
    assert wrapped is not None
    assert (wrapped.follow_up_wanted, wrapped.follow_up_reason) == (False, "could_not_ask")
    assert errors == []
