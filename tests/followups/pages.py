"""Helpers the follow-up API and browser tests share: logins that carry the follow-up
page's CSRF token, and cases opened straight through the service."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from dispatch.followups.cases import Case, CaseSource, NewCase, Owner
from dispatch.web import keys as dispatch_keys
from hotline.risk import RiskLevel
from hotline.users import Role
from tests.conftest import Staff, StaffFactory, submit_login

JINGHU = "jinghu"
NUMBER = "+8613800138000"
PERSON = "张秀英"


async def followup_login(login: StaffFactory, username: str, role: Role = Role.COUNSELLOR) -> Staff:
    """A staff member logged in, holding the CSRF token the follow-up page gives them."""
    staff = await login(username, role, available=False)
    return await _with_token(staff)


async def log_in_again(staff: Staff, username: str) -> Staff:
    """A new session for someone whose session expired while a test moved the clock."""
    response = await submit_login(staff.client, username)
    assert response.status == 303, await response.text()
    return await _with_token(staff)


async def _with_token(staff: Staff) -> Staff:
    page = await staff.client.get("/followups")
    assert page.status == 200, await page.text()
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token, "the follow-up page has no CSRF token"
    return Staff(staff.client, staff.user_id, token.group(1))


async def open_case(
    app: web.Application,
    *,
    owner: Owner,
    risk: RiskLevel = RiskLevel.HIGH,
    district: str | None = JINGHU,
    phone: str | None = None,
    name: str | None = None,
    **extra: Any,
) -> Case:
    """A case opened by the service (as the wrap-up or the registry would), by `system`."""
    return await app[dispatch_keys.FOLLOWUPS].open_case(
        NewCase(
            source=CaseSource.MANUAL,
            risk=risk,
            lang="zh-CN",
            owner=owner,
            opened_by="system",
            district=district,
            phone=phone,
            name=name,
            **extra,
        )
    )
