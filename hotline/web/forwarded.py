"""Trusting the reverse proxy (nginx) for the client's address and scheme, and nobody else.

Behind nginx every request arrives from 127.0.0.1 over plain HTTP. Without this, the
per-address limits would throttle the whole city as one client, and the Origin check would
compare a browser's https:// origin with an http:// address. Forwarded headers are believed
only from addresses listed in `server.trusted_proxies`; from anyone else they are ignored,
since a client can write whatever headers it likes.
"""

from __future__ import annotations

from aiohttp import web

from hotline.web import keys
from hotline.web.middleware_types import Handler


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Replace remote and scheme with what a trusted proxy reports."""
    trusted = request.app[keys.CONFIG].server.trusted_proxies
    if trusted and request.remote in trusted:
        changes: dict[str, str] = {}
        chain = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
        # The right-most address not itself a trusted proxy is the one the proxy saw.
        client = next((hop for hop in reversed(chain) if hop and hop not in trusted), None)
        if client:
            changes["remote"] = client
        proto = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


def setup_forwarded(app: web.Application) -> None:
    """Install the middleware (before anything reads the client address)."""
    app.middlewares.append(forwarded_middleware)
