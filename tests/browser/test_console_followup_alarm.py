"""Follow-up alarms reach the console, where counsellors and supervisors spend their shift.

The console opens the follow-up socket beside its own: an overdue case's owner stage shows
on its counsellor's console (not on a colleague's, not on a supervisor's), its supervisor
stage on the supervisors'; the follow-ups link counts what is overdue and due today. The
clock is the app's manual clock (Monday 11-23, 11:00 in Shanghai); a high-risk case is due
24 h after it opens, its owner is alarmed 1 h after that and the supervisors 12 h after.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Browser, Page, expect

from dispatch.followups.cases import Owner
from dispatch.web import keys as dispatch_keys
from hotline.clock import ManualClock
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import console_login
from tests.conftest import PASSWORD
from tests.followups.pages import open_case

pytestmark = pytest.mark.browser

# Counts every sound the page starts (a tone or a media element): a follow-up alarm makes none.
SOUND_SPY = """() => {
  window.__sounds = 0;
  const RealAudioContext = window.AudioContext;
  window.AudioContext = class extends RealAudioContext {
    constructor(...args) { super(...args); window.__sounds += 1; }
  };
  const realPlay = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function (...args) {
    window.__sounds += 1;
    return realPlay.apply(this, args);
  };
}"""


async def expect_counts(page: Page, *, overdue: int, today: int) -> None:
    """The follow-ups link shows these counts (overdue in red only when there are some)."""
    link = page.locator("#followups-link")
    await expect(link).to_be_visible()
    await expect(page.locator("#followups-overdue")).to_have_attribute("data-count", str(overdue))
    await expect(page.locator("#followups-today")).to_have_attribute("data-count", str(today))
    await expect(page.locator("#followups-overdue")).to_have_text(f"逾期 {overdue}")
    await expect(page.locator("#followups-today")).to_have_text(f"今天到期 {today}")
    red = await page.locator("#followups-overdue").evaluate(
        "node => node.classList.contains('is-overdue')"
    )
    assert red is (overdue > 0)


async def expect_listening(page: Page) -> None:
    """The console's follow-up socket is connected (so silence means nothing was sent)."""
    await expect(page.locator("#followups-link")).to_have_attribute("data-live", "true")


async def test_an_overdue_follow_up_alarms_its_counsellor_in_the_console(
    aiohttp_server: Any, app: web.Application, browser: Browser, clock: ManualClock
) -> None:
    """The owner's console shows the banner without a reload and without taking the focus
    from the reply being written, and counts the case overdue; a colleague's console shows
    nothing; the supervisor's counts follow but the owner-stage alarm is not theirs; Alt+K
    acknowledges it and leaves the focus in the reply. No sound is played."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    users = app[keys.USERS]
    wang = await users.add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await users.add("zhao", "赵老师", Role.COUNSELLOR, PASSWORD)
    await users.add("chen", "陈督导", Role.SUPERVISOR, PASSWORD)
    case = await open_case(app, owner=Owner(user_id=wang.id))  # due Tuesday 11:00
    clock.advance(hours=23)  # Tuesday 10:00: due today, not yet overdue
    errors: list[str] = []
    owner = await console_login(browser, base, "wang", errors=errors)
    colleague = await console_login(browser, base, "zhao", errors=errors)
    supervisor = await console_login(browser, base, "chen", errors=errors)

    await expect_counts(owner, overdue=0, today=1)
    await expect_counts(colleague, overdue=0, today=0)
    await expect_counts(supervisor, overdue=0, today=1)  # the whole line's cases
    link = owner.locator("#followups-link")
    await expect(link).to_have_attribute("href", "/followups")
    await expect(link).to_have_attribute("target", "_blank")
    for page in (owner, colleague, supervisor):
        await expect_listening(page)

    contact, _ = await app[keys.CONVERSATIONS].start_webchat("jinghu", "zh-CN")
    await owner.click("#take-next")
    await expect(owner.locator("#conversation")).to_have_attribute(
        "data-contact-id", str(contact.id)
    )
    reply = owner.locator("#reply")
    await expect(reply).to_be_focused()
    await owner.keyboard.type("我在听")
    await owner.evaluate("window.__stillHere = true")
    await owner.evaluate(SOUND_SPY)

    clock.advance(hours=2)  # Tuesday 12:00: an hour past due, the owner's alarm
    await app[dispatch_keys.FOLLOWUPS].fire_due()

    banner = owner.locator("#followup-alarm-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_have_attribute("role", "alert")
    await expect(banner).to_contain_text("随访提醒")
    await expect(banner).to_contain_text(f"{case.pseudonym}（高风险）的随访已逾期 1 小时")
    case_link = banner.locator("a.followup-alarm-case")
    await expect(case_link).to_have_text(case.pseudonym)
    await expect(case_link).to_have_attribute("href", f"/followups/{case.id}")
    await expect(case_link).to_have_attribute("target", "_blank")
    await expect_counts(owner, overdue=1, today=0)
    await expect(reply).to_be_focused()
    await expect(reply).to_have_value("我在听")
    assert await owner.evaluate("window.__stillHere") is True, "the console was reloaded"
    assert await owner.evaluate("window.__sounds") == 0, "a follow-up alarm made a sound"

    await expect_counts(supervisor, overdue=1, today=0)  # the case's change reached them
    await expect(supervisor.locator("#followup-alarm-banner")).to_be_hidden()
    await expect_listening(colleague)
    await expect(colleague.locator("#followup-alarm-banner")).to_be_hidden()
    await expect_counts(colleague, overdue=0, today=0)
    await expect(colleague.locator("#alarm-banner")).to_be_hidden()

    await owner.keyboard.press("Alt+k")
    await expect(banner).to_be_hidden()
    await expect(reply).to_be_focused()
    await expect(reply).to_have_value("我在听")
    await expect_counts(owner, overdue=1, today=0)  # acknowledged is not done: still counted
    assert errors == []


async def test_a_long_overdue_follow_up_alarms_the_supervisors_console_after_a_reconnect(
    aiohttp_server: Any, app: web.Application, browser: Browser, clock: ManualClock
) -> None:
    """Twelve hours past due the supervisor's console shows the supervisor-stage alarm, even
    after its sockets were dropped and reconnected; the owning counsellor's console does not
    (their alarm was the owner stage). The banner follows the language switch."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    users = app[keys.USERS]
    wang = await users.add("wang", "王老师", Role.COUNSELLOR, PASSWORD)
    await users.add("chen", "陈督导", Role.SUPERVISOR, PASSWORD)
    case = await open_case(app, owner=Owner(user_id=wang.id))  # due Tuesday 11:00
    clock.advance(hours=35)  # Tuesday 22:00: eleven hours overdue
    await app[dispatch_keys.FOLLOWUPS].fire_due()  # the owner's alarm, before anyone looks
    errors: list[str] = []
    supervisor = await console_login(browser, base, "chen", errors=errors)
    owner = await console_login(browser, base, "wang", errors=errors)
    await expect_counts(supervisor, overdue=1, today=0)
    await expect_counts(owner, overdue=1, today=0)
    await expect_listening(supervisor)
    await expect(supervisor.locator("#followup-alarm-banner")).to_be_hidden()

    await app[keys.SOCKETS].close_all()  # the server went away and came back
    status = supervisor.locator("#followups-status")
    await expect(status).to_be_visible()
    await expect(status).to_contain_text("重连")
    await expect_listening(supervisor)
    await expect(status).to_be_hidden()
    await expect_listening(owner)

    clock.advance(hours=1, minutes=5)  # Tuesday 23:05: twelve hours past due
    await app[dispatch_keys.FOLLOWUPS].fire_due()
    banner = supervisor.locator("#followup-alarm-banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text(
        f"{case.pseudonym}（高风险）的随访已逾期 12 小时，负责人：王老师（咨询员）。请督导跟进。"
    )
    await expect(banner.locator("a.followup-alarm-case")).to_have_attribute(
        "href", f"/followups/{case.id}"
    )
    await expect_counts(supervisor, overdue=1, today=0)
    await expect(owner.locator("#followup-alarm-banner")).to_be_hidden()

    await supervisor.click("#lang-switch")
    await expect(banner).to_contain_text(
        f"The follow-up of {case.pseudonym} (High) is 12 h overdue, owner: 王老师 (Counsellor)."
    )
    await expect(supervisor.locator("#followups-overdue")).to_have_text("1 overdue")
    await supervisor.click("#followup-alarm-ack")
    await expect(banner).to_be_hidden()
    assert errors == []
