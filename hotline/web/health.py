"""GET /healthz: what a load balancer or an operator checks first."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hotline.web import keys


async def healthz(request: web.Request) -> web.Response:
    """Status, database reachability, Redis (with several gateways), queue length and the
    steps kept in the spool, as JSON.

    503 when the database does not answer: nothing can be kept then. A Redis that does not
    answer makes the gateway "degraded", still 200: contacts are still accepted and kept in
    the store, and consoles still take them, only without the shared index and live events
    from the other gateways until Redis returns.
    """
    app = request.app
    database = app[keys.DATABASE]
    unreachable: tuple[type[BaseException], ...] = (*database.errors, ValueError, OSError)
    try:
        ok = await database.ping()
        queue_length = await app[keys.CONVERSATIONS].queue_length() if ok else None
    except unreachable:
        ok, queue_length = False, None
    body: dict[str, Any] = {
        "status": "ok" if ok else "error",
        "database": "ok" if ok else "error",
        "queue_length": queue_length,
    }
    away = app.get(keys.STORE_AWAY)
    if away is not None:
        # Calls' and texts' steps kept on this gateway's disk while the store was away,
        # not yet in it (hotline.spool): they enter it once the store answers.
        body["spooled"] = away.spool.waiting
    cluster = app.get(keys.CLUSTER)
    if cluster is not None:
        redis_ok = await cluster.ping()
        body["redis"] = "ok" if redis_ok else "unavailable"
        body["process"] = cluster.origin
        if ok and not redis_ok:
            body["status"] = "degraded"
    return web.json_response(body, status=200 if ok else 503)


def setup_health(app: web.Application) -> None:
    """The health route."""
    app.router.add_get("/healthz", healthz)
