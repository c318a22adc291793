"""GET /healthz: what a load balancer or an operator checks first."""

from __future__ import annotations

import sqlite3

from aiohttp import web

from hotline.web import keys


async def healthz(request: web.Request) -> web.Response:
    """Status, database reachability and queue length, as JSON (503 when unhealthy)."""
    try:
        ok = await request.app[keys.DATABASE].ping()
        queue_length = await request.app[keys.CONVERSATIONS].queue_length() if ok else None
    except (sqlite3.Error, ValueError):
        ok, queue_length = False, None
    return web.json_response(
        {
            "status": "ok" if ok else "error",
            "database": "ok" if ok else "error",
            "queue_length": queue_length,
        },
        status=200 if ok else 503,
    )


def setup_health(app: web.Application) -> None:
    """The health route."""
    app.router.add_get("/healthz", healthz)
