"""Per-request context: a request id in every log line, one safe summary line per request,
and the security headers every page needs.

The summary names the route, never the query string (chat tokens travel there) and never
the client address (a person reaching a crisis line is entitled not to be traced by our logs).
"""

from __future__ import annotations

import secrets
import time

import structlog
from aiohttp import web

from hotline.web.middleware_types import Handler

log = structlog.get_logger("hotline.request")

# The console may talk to Twilio's voice service (the browser answers calls with the Voice
# SDK, which signals over wss and fetches its settings over https); no other page may.
CONSOLE_CSP = (
    "default-src 'self'; connect-src 'self' https://*.twilio.com wss://*.twilio.com; "
    "img-src 'self' data:; media-src 'self' blob: https://sdk.twilio.com; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id, time the request, log one line, add security headers."""
    request_id = request.headers.get("X-Request-Id", "")
    if not (0 < len(request_id) <= 64 and request_id.replace("-", "").isalnum()):
        request_id = secrets.token_hex(8)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers["X-Request-Id"] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        route = request.match_info.route.resource
        log.info(
            "request",
            method=request.method,
            route=route.canonical if route is not None else "unmatched",
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )


def setup_request_context(app: web.Application) -> None:
    """Install the middleware (first, so every other middleware's logs carry the id)."""
    app.middlewares.append(request_context_middleware)
