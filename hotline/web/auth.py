"""Staff login, sessions and the checks every staff endpoint makes.

Handlers call `require_staff(request, roles, csrf=...)` rather than relying on a path-based
middleware, so a new endpoint cannot forget which roles may use it: the call is the first
line of every staff handler and the roles are written where the reader looks.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from hotline.sessions import Session
from hotline.users import Role, User
from hotline.web import keys
from hotline.web.errors import error_response
from hotline.web.pages import page_language, render
from hotline.web.websockets import FeedRun, serve_listening_page

log = structlog.get_logger(__name__)

SESSION_COOKIE = "hotline_session"
LOGIN_CSRF_COOKIE = "hotline_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CONSOLE_ROLES = (Role.COUNSELLOR, Role.SUPERVISOR)

LOGIN_ERRORS = {
    "zh-CN": {
        "bad_login": "用户名或密码不正确。",
        "csrf": "页面已过期，请重新登录。",
        "too_many": "尝试次数过多，请稍后再试。",
    },
    "en": {
        "bad_login": "Wrong username or password.",
        "csrf": "The page expired; please log in again.",
        "too_many": "Too many attempts; please wait a minute and try again.",
    },
}
FORBIDDEN_TEXT = {
    "zh-CN": "您的角色（{role}）不使用咨询员工作台。",
    "en": "Your role ({role}) does not use the counsellor console.",
}


@dataclass(frozen=True)
class Staff:
    """The logged-in user behind a request and their session."""

    user: User
    session: Session


class LoginRequired(web.HTTPUnauthorized):
    """Raised for API calls without a valid session (pages redirect instead)."""


def origin_allowed(request: web.Request) -> bool:
    """True when the Origin header (if the browser sent one) is this site or a configured one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    config = request.app[keys.CONFIG]
    own = f"{request.scheme}://{request.host}"
    return origin.rstrip("/") in (own, *config.server.allowed_origins)


async def current_staff(request: web.Request) -> Staff | None:
    """The staff member whose session cookie came with the request, if any."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    session = await request.app[keys.SESSIONS].get(token)
    if session is None:
        return None
    user = await request.app[keys.USERS].get(session.user_id)
    return None if user is None else Staff(user, session)


async def require_staff(
    request: web.Request, roles: tuple[Role, ...], *, csrf: bool = False
) -> Staff:
    """Authenticate an API call: 401 without a session, 403 for a wrong role or CSRF token."""
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPUnauthorized(
            text='{"error": "login_required", "message": "please log in again"}',
            content_type="application/json",
        )
    if staff.user.role not in roles:
        raise web.HTTPForbidden(
            text='{"error": "wrong_role", "message": "your role does not allow this"}',
            content_type="application/json",
        )
    if csrf:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), staff.session.csrf_token.encode()):
            raise web.HTTPForbidden(
                text='{"error": "csrf", "message": "the page is out of date; reload it"}',
                content_type="application/json",
            )
    return staff


@dataclass(frozen=True)
class StaffPage:
    """A staff page's viewer and language, once they are known to be allowed."""

    staff: Staff
    lang: str

    def values(self, request: web.Request) -> dict[str, Any]:
        """What every staff page template needs: language, CSRF token, who, time zone.

        (Typed Any only so it can be spread into `render`, whose `status` is an int.)"""
        user = self.staff.user
        return {
            "lang": self.lang,
            "csrf_token": self.staff.session.csrf_token,
            "user_role": user.role.value,
            "user_id": str(user.id),
            "display_name": user.display_name,
            "time_zone": request.app[keys.CONFIG].time_zone,
        }


async def open_staff_page(
    request: web.Request, roles: tuple[Role, ...], forbidden: dict[str, str]
) -> StaffPage | web.Response:
    """Guard a staff page: the login form without a session (coming back here after it), a
    plain 403 page naming the role (`forbidden` text per language, with `{role}`) for the
    wrong role, else the viewer and the page language."""
    staff = await current_staff(request)
    if staff is None:
        raise web.HTTPSeeOther(f"/login?next={request.path}")
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    if staff.user.role not in roles:
        text = forbidden["en" if lang == "en" else "zh-CN"].format(role=staff.user.role.value)
        return render("forbidden.html", config, status=403, lang=lang, message=text)
    return StaffPage(staff, lang)


def _safe_next(target: str) -> str:
    """Only same-site paths may follow a login (no open redirect)."""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return "/console"


def _login_page(request: web.Request, error_code: str = "", status: int = 200) -> web.Response:
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    csrf = secrets.token_urlsafe(32)
    error = LOGIN_ERRORS["en" if lang == "en" else "zh-CN"].get(error_code, "")
    response = render(
        "login.html",
        config,
        status=status,
        lang=lang,
        csrf_token=csrf,
        error=error,
        next=_safe_next(request.query.get("next", "/console")),
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="Strict",
        path="/login",
        secure=config.server.secure_cookies,
        max_age=3600,
    )
    return response


async def login_form(request: web.Request) -> web.Response:
    """GET /login: the form, with a fresh double-submit CSRF token."""
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    """POST /login: check the CSRF token and the password, then start a session."""
    config = request.app[keys.CONFIG]
    form = await request.post()
    sent = str(form.get("csrf_token", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _login_page(request, "csrf", status=403)
    username = str(form.get("username", "")).strip()
    limiter = request.app[keys.LOGIN_LIMITER]
    if not limiter.allow(f"user:{username}") or not limiter.allow(f"addr:{request.remote}"):
        return _login_page(request, "too_many", status=429)
    user = await request.app[keys.USERS].authenticate(username, str(form.get("password", "")))
    if user is None:
        log.info("login_failed")
        return _login_page(request, "bad_login", status=401)
    token, _session = await request.app[keys.SESSIONS].create(user.id)
    log.info("login", user_id=user.id, role=user.role.value)
    target = _safe_next(str(form.get("next", "/console")))
    if target == "/console" and user.role is Role.COORDINATOR:
        target = "/dispatch"  # a coordinator's place is the dispatch board, not the console
    if target == "/console" and user.role is Role.ADMIN:
        target = "/stats"  # admins do not answer contacts: figures, the audit trail
    response = web.HTTPSeeOther(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/",
        secure=config.server.secure_cookies,
        max_age=config.server.session_hours * 3600,
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout: end the session (CSRF-checked so a link elsewhere cannot log you out)."""
    staff = await current_staff(request)
    if staff is not None:
        form = await request.post()
        sent = str(form.get("csrf_token", "")) or request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), staff.session.csrf_token.encode()):
            return error_response(403, "csrf", "the page is out of date; reload it")
        await request.app[keys.SESSIONS].end(request.cookies[SESSION_COOKIE])
        log.info("logout", user_id=staff.user.id)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def forbidden_page(request: web.Request, role: Role) -> web.Response:
    """A page that tells a logged-in user plainly why they cannot use this page."""
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    text = FORBIDDEN_TEXT["en" if lang == "en" else "zh-CN"].format(role=role.value)
    return render("forbidden.html", config, status=403, lang=lang, message=text)


def setup_auth(app: web.Application) -> None:
    """Routes for logging in and out."""
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


async def staff_page_socket(
    request: web.Request,
    roles: tuple[Role, ...],
    tag: str,
    feed: Callable[[web.WebSocketResponse, User], FeedRun],
) -> web.WebSocketResponse:
    """A staff page's listening socket: same-site pages only, a logged-in member of one of
    `roles`, tracked as `(tag, user id)` so shutdown closes it."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="websocket origin not allowed")
    staff = await require_staff(request, roles)
    app = request.app
    return await serve_listening_page(
        request,
        sockets=app[keys.SOCKETS],
        bus=app[keys.BUS],
        owner=(tag, staff.user.id),
        feed=lambda ws: feed(ws, staff.user),
    )
