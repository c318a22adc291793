"""The statistics page (/stats) in real Chromium: a supervisor answers "how did we do this
week, and where" from server-drawn charts, and marks an early warning as seen."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from playwright.async_api import Browser, expect

from hotline.clock import ManualClock
from hotline.stats.warning import raise_alerts
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import staff_page_login
from tests.browser.test_audit_page import add_staff
from tests.stats.eventlog import EventLog

pytestmark = pytest.mark.browser

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 11:00 on the hotline's clock


def a_busy_week() -> EventLog:
    """Three quiet weeks (six calls a day in Jinghu), then a surge in Jinghu over the last
    20 hours: 30 calls, 8 of them assessed high, 5 who gave up before local midnight; and
    6 web chats from Yijiang."""
    log = EventLog()
    start = NOW - timedelta(days=22)
    for day in range(21):
        for n in range(6):
            log.contact(start + timedelta(days=day, hours=1 + 3 * n), answered_after=15)
    surge = NOW - timedelta(hours=20)
    for n in range(30):
        at = surge + timedelta(minutes=37 * n)
        if n in (1, 3, 5, 7, 9):
            log.contact(at, abandoned_after=90)
        else:
            log.contact(at, answered_after=5 + 7 * (n % 12), assessed="high" if n < 8 else None,
                        referral="psychiatric_hospital" if n < 6 else None)
    for n in range(6):
        log.contact(NOW - timedelta(hours=5, minutes=n * 20), channel="webchat",
                    district="yijiang", answered_after=12)
    for n in range(5):
        log.dispatch(surge + timedelta(hours=n), accepted_after_minutes=3 + 2 * n)
    return log


async def test_a_supervisor_reads_the_week_and_marks_a_warning_seen(
    aiohttp_server: Any, app: web.Application, clock: ManualClock, browser: Browser,
    tmp_path: Path,
) -> None:
    """Tiles and nine charts drawn from the event log (the numbers the JSON gives), the
    filters by keyboard, the early warning for the surge district, English, a screenshot."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await add_staff(app, "zhao", Role.SUPERVISOR)
    log = a_busy_week()
    await log.write(app[keys.DATABASE], clock)
    zone = ZoneInfo("Asia/Shanghai")
    arrivals = [at.astimezone(zone).date() for at, kind, *_ in log.items
                if kind == "contact.queued"]
    in_week = sum(1 for day in arrivals if date(2026, 11, 17) <= day <= date(2026, 11, 23))
    clock.set(NOW)
    raised = await raise_alerts(app[keys.DATABASE], app[keys.CONFIG], NOW)
    assert [(a.district, a.measure) for a in raised][:1] == [("jinghu", "contacts")]
    errors: list[str] = []
    page = await staff_page_login(browser, base, "zhao", errors, "/stats")

    figures = await (await page.request.get(
        f"{base}/api/stats?from=2026-11-17&to=2026-11-23")).json()
    summary = figures["summary"]
    assert summary["offered"] == in_week  # arrivals on the last seven local days
    await expect(page.locator("#period")).to_contain_text("2026-11-17 – 2026-11-23")
    await expect(page.locator('[data-figure="offered"] .tile-value')).to_have_text(
        str(summary["offered"]))
    await expect(page.locator('[data-figure="answered"] .tile-value')).to_have_text(
        str(summary["answered"]))
    await expect(page.locator("svg.chart")).to_have_count(9)
    per_day = page.locator("#chart-per-day rect.bar")
    values = [await bar.get_attribute("data-value") for bar in await per_day.all()]
    answered = figures["by_day"]["series"]["answered"]
    assert None not in answered and answered[-1] > 20  # the surge's last day
    for value in answered:
        assert str(value) in values
    assert values.count("suppressed") == 0
    # Nothing is hidden behind hover: each chart states its numbers in words as well.
    desc = await page.locator("#chart-districts svg desc").text_content()
    assert desc and f"已接听 {figures['districts']['series']['answered'][0]}" in desc

    warning = page.locator("#warnings .warning-item")
    await expect(warning).to_have_count(len(raised))
    await expect(warning.first).to_contain_text("预警")

    # The filters work from the keyboard: choose Yijiang, press Enter.
    await page.focus("#f-district")
    await page.select_option("#f-district", "yijiang")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**district=yijiang**")
    await expect(page.locator('[data-figure="offered"] .tile-value')).to_have_text("6")

    await page.click("#lang-link")
    await page.wait_for_url("**lang=en**")
    await expect(page.locator("#f-district")).to_have_value("yijiang")
    await expect(page.locator('[data-figure="offered"] .tile-name')).to_have_text("Offered")
    await page.click("#range-week")
    await page.select_option("#f-district", "")
    await page.click("#apply")
    await expect(page.locator("#warnings")).to_contain_text("Early warning · Jinghu")
    shot = tmp_path / "stats-page.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000  # a page of drawn charts, not a blank one
    if os.environ.get("HOTLINE_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["HOTLINE_SCREENSHOTS"]) / "stats-page.png")

    for button in await page.locator("button.acknowledge").all():
        await page.locator("button.acknowledge").first.click()
        await page.wait_for_load_state("load")
        del button
    await expect(page.locator("#warnings")).to_contain_text("no district shows a rise")
    assert errors == []


async def test_the_monthly_report_page_and_its_file(
    aiohttp_server: Any, app: web.Application, clock: ManualClock, browser: Browser,
    tmp_path: Path,
) -> None:
    """From /stats to last month's report: its tables, the month before and after from the
    keyboard, and the downloaded Markdown file saying the same as the page."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await add_staff(app, "zhao", Role.SUPERVISOR)
    log = EventLog()
    october = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
    for n in range(12):
        log.contact(october + timedelta(hours=n), answered_after=20,
                    referral="police_110" if n < 6 else None)
    await log.write(app[keys.DATABASE], clock)
    clock.set(NOW)
    errors: list[str] = []
    page = await staff_page_login(browser, base, "zhao", errors, "/stats")
    await page.goto(f"{base}/stats?from=2026-10-01&to=2026-10-31")
    await page.click("#monthly-link")
    await page.wait_for_url("**/stats/monthly?month=2026-10**")
    await expect(page.locator("#report-title")).to_contain_text("2026-10 月度报告")
    overview = page.locator(".report-table").first
    await expect(overview.locator("tr", has_text="来电/来访").locator("td")).to_have_text("12")
    await expect(page.locator(".report-table", has_text="转介去向")).to_contain_text("6")
    await page.screenshot(path=str(tmp_path / "monthly.png"), full_page=True)

    async with page.expect_download() as download_info:
        await page.click("#download-report")
    download = await download_info.value
    saved = tmp_path / "report.md"
    await download.save_as(saved)
    text = saved.read_text("utf-8")
    assert text.startswith("# 芜湖市心理援助热线 · 2026-10 月度报告")
    assert "| 来电/来访 | 12 |" in text and "| 转介 | 6 |" in text

    await page.focus("#next-month")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**month=2026-11**")
    november = page.locator(".report-table").first.locator("tr", has_text="来电/来访")
    await expect(november.locator("td")).to_have_text("0")
    await page.focus("#previous-month")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**month=2026-10**")
    assert errors == []


async def test_a_supervisor_at_the_console_sees_an_early_warning_as_it_is_raised(
    aiohttp_server: Any, app: web.Application, clock: ManualClock, browser: Browser,
) -> None:
    """The scheduled check raises an alert while a supervisor works the console: a banner
    names the district and the rise (no contact), links to /stats, follows the language,
    and goes once the alert is marked seen; a counsellor's console never shows it."""
    from hotline.stats.warning import acknowledge
    from tests.browser.conftest import console_login

    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    zhao = await add_staff(app, "zhao", Role.SUPERVISOR)
    await add_staff(app, "wang", Role.COUNSELLOR)
    await a_busy_week().write(app[keys.DATABASE], clock)
    clock.set(NOW)
    errors: list[str] = []
    supervisor = await console_login(browser, base, "zhao", errors=errors)
    counsellor = await console_login(browser, base, "wang", errors=errors)
    banner = supervisor.locator("#warning-banner")
    await expect(banner).to_be_hidden()

    raised = await raise_alerts(app[keys.DATABASE], app[keys.CONFIG], NOW)
    assert raised
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("镜湖区")
    await expect(supervisor.locator("#warning-link")).to_have_attribute("href", "/stats")
    await supervisor.click("#lang-switch")
    await expect(banner).to_contain_text("Early warning · Jinghu")
    await expect(counsellor.locator("#warning-banner")).to_be_hidden()

    for alert in raised:
        assert alert.id is not None
        await acknowledge(app[keys.DATABASE], alert.id, zhao)
    await expect(banner).to_be_hidden()
    assert errors == []
