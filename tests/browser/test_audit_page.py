"""The audit page (/audit) in real Chromium: an admin reads the trail at 3 a.m."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from argon2 import PasswordHasher
from playwright.async_api import Browser, expect

from hotline import audit
from hotline.clock import ManualClock, to_iso
from hotline.store.database import DB_FILE
from hotline.users import Role
from hotline.web import keys
from tests.browser.conftest import staff_page_login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# The login form checks a real argon2 hash; made cheap here, since the hash names its cost.
FAST_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


async def add_staff(app: web.Application, username: str, role: Role) -> int:
    """A staff row written directly, with a cheap hash of the shared test password."""
    async with app[keys.DATABASE].transaction() as tx:
        cursor = await tx.execute(
            "INSERT INTO users (username, display_name_enc, role, password_hash, created_at)"
            " VALUES (?, x'', ?, ?, ?)",
            (username, role.value, FAST_HASH, to_iso(tx.clock.now())),
        )
        user_id = cursor.lastrowid
        assert user_id is not None
        sealed = app[keys.CIPHER].seal(f"{username} 老师", f"users.display_name:{user_id}")
        await tx.execute("UPDATE users SET display_name_enc = ? WHERE id = ?", (sealed, user_id))
    return user_id


async def night_of_records(app: web.Application, clock: ManualClock) -> int:
    """60 records a minute apart: history reads, supervision, one disclosure at the end."""
    zhao = await add_staff(app, "zhao", Role.SUPERVISOR)
    wang = await add_staff(app, "wang", Role.COUNSELLOR)
    db = app[keys.DATABASE]
    for n in range(1, 60):
        async with db.transaction() as tx:
            if n % 2:
                await audit.record(
                    tx,
                    actor=f"user:{wang}",
                    action="history.opened",
                    subject=f"contact:{n}",
                    purpose="serving_contact",
                    data={"earlier_contacts": n % 4},
                )
            else:
                await audit.record(
                    tx,
                    actor=f"user:{zhao}",
                    action="contact.viewed",
                    subject=f"contact:{n}",
                    purpose="supervision",
                    data={"role": "supervisor"},
                )
        clock.advance(minutes=1)
    async with db.transaction() as tx:
        await audit.record(
            tx,
            actor=f"user:{zhao}",
            action="number.disclosed",
            subject="dispatch:7",
            purpose="responder_callback",
            data={"team": "jinghu", "member": 3, "contact_id": 59},
        )
    return 60


async def test_an_admin_reads_filters_and_pages_the_trail(
    aiohttp_server: Any, app: web.Application, clock: ManualClock, browser: Browser, tmp_path: Path
) -> None:
    """The green banner with the count, the newest 50 by login name and role in the hotline's
    time, a filter by action, and Alt+O / Alt+N paging from the keyboard."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await add_staff(app, "root", Role.ADMIN)
    total = await night_of_records(app, clock)
    errors: list[str] = []
    page = await staff_page_login(browser, base, "root", errors, "/dispatch")
    await page.click("#audit-link")
    await page.wait_for_url(f"{base}/audit")

    await expect(page.locator("#chain-ok")).to_be_visible()
    await expect(page.locator("#chain-ok")).to_have_text(f"✓ 审计链完整：已核对 {total} 条记录")
    await expect(page.locator("#chain-broken")).to_be_hidden()
    rows = page.locator("#records-body tr")
    await expect(rows).to_have_count(50)
    newest = rows.first
    await expect(newest).to_contain_text("#60")
    await expect(newest).to_contain_text("zhao（督导）")
    await expect(newest).to_contain_text("向响应人员透露来电号码")
    await expect(newest).to_contain_text("调度 #7")
    await expect(newest).to_contain_text("contact_id=59  member=3  team=jinghu")
    # Record 1 was written at 03:00 UTC: 11:00 on the hotline's clock; record 60, 59 min on.
    await expect(newest).to_contain_text("2026-11-23 11:59:00")
    await expect(page.locator("#col-time")).to_have_text("时间（Asia/Shanghai）")
    await expect(page.locator("#page-status")).to_have_text("显示最新的 50 条记录（编号 60 至 11）")
    assert "老师" not in await page.locator("main").inner_text()

    await page.keyboard.press("Alt+a")
    await expect(page.locator("#f-action")).to_be_focused()
    await page.select_option("#f-action", "contact.viewed")
    await page.keyboard.press("Enter")
    await expect(rows).to_have_count(29)
    await expect(rows.first).to_contain_text("督导查看对话")
    await expect(rows.first).to_contain_text("#58")
    await expect(page.locator("#page-status")).to_contain_text("（已筛选）")
    await expect(page.locator("#older")).to_be_disabled()

    await page.keyboard.press("Alt+r")
    await expect(rows).to_have_count(50)
    await expect(page.locator("#f-action")).to_have_value("")
    await page.keyboard.press("Alt+o")
    await expect(rows).to_have_count(10)
    await expect(rows.first).to_contain_text("#10")
    await expect(rows.last).to_contain_text("#1")
    await expect(page.locator("#page-status")).to_have_text("显示编号 10 至 1 的 10 条记录")
    await expect(page.locator("#older")).to_be_disabled()
    # The last page has no older one: the keyboard lands on the button that still works.
    await expect(page.locator("#newer")).to_be_focused()
    await expect(page.locator("#newer kbd")).to_have_text("Alt+N")
    await page.screenshot(path=str(tmp_path / "audit-page.png"), full_page=True)
    await page.keyboard.press("Alt+n")
    await expect(rows.first).to_contain_text("#60")
    await expect(page.locator("#newer")).to_be_disabled()

    await page.click("#lang-switch")
    await expect(page.locator("#chain-ok")).to_have_text(
        f"✓ Audit chain intact: {total} records checked"
    )
    await expect(rows.first).to_contain_text("zhao (Supervisor)")
    await expect(rows.first).to_contain_text("Caller's number disclosed to a responder")
    await expect(page.locator("#older")).to_contain_text("Older")
    assert errors == []


def _tamper(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
    conn.execute("UPDATE audit_log SET purpose = 'curiosity' WHERE id = 5")
    conn.commit()
    conn.close()


async def test_a_broken_chain_is_red_and_shows_where(
    aiohttp_server: Any, app: web.Application, clock: ManualClock, browser: Browser, tmp_path: Path
) -> None:
    """An edit behind the application's back: the red banner names the record, and Alt+B
    brings it to the top of the table, marked."""
    server = await aiohttp_server(app)
    base = str(server.make_url("")).rstrip("/")
    await add_staff(app, "root", Role.ADMIN)
    await night_of_records(app, clock)
    await asyncio.to_thread(_tamper, app[keys.CONFIG].data_dir / DB_FILE)
    errors: list[str] = []
    page = await staff_page_login(browser, base, "root", errors, "/audit")

    broken = page.locator("#chain-broken")
    await expect(broken).to_be_visible()
    await expect(broken).to_contain_text("审计链在第 5 条记录处断开：这条记录的内容被改动过")
    await expect(page.locator("#chain-ok")).to_be_hidden()
    await expect(page.locator("#show-broken kbd")).to_have_text("Alt+B")
    await page.keyboard.press("Alt+b")
    rows = page.locator("#records-body tr")
    await expect(rows).to_have_count(5)
    await expect(rows.first).to_contain_text("⚠ 断开处")
    await expect(rows.first).to_contain_text("curiosity")
    await expect(page.locator("#newer")).to_be_enabled()
    await page.screenshot(path=str(tmp_path / "audit-broken.png"), full_page=True)
    assert errors == []
