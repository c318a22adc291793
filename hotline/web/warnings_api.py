"""The supervisors' early warnings over HTTP: the open alerts, and marking one seen.

Supervisors and admins only (they watch the floor and the statistics); counsellors and
coordinators get 403. An alert carries aggregates only (hotline.stats.warning), so the
answers hold no contact id, number, name or text. Alerts also arrive live as
`stats.early_warning` events on the event bus.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from hotline.stats.warning import acknowledge, alerts_json, open_alerts
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import require_staff
from hotline.web.pages import page_language

log = structlog.get_logger(__name__)

WARNING_ROLES = (Role.SUPERVISOR, Role.ADMIN)


async def list_warnings(request: web.Request) -> web.Response:
    """GET /api/stats/warnings[?lang=]: the alerts not yet acknowledged, oldest first."""
    await require_staff(request, WARNING_ROLES)
    config = request.app[keys.CONFIG]
    alerts = await open_alerts(request.app[keys.DATABASE])
    lang = page_language(request, config)
    return web.json_response({"warnings": alerts_json(alerts, config, lang)})


async def acknowledge_warning(request: web.Request) -> web.Response:
    """POST /api/stats/warnings/{id}/acknowledge: mark an alert seen (404 when unknown)."""
    staff = await require_staff(request, WARNING_ROLES, csrf=True)
    config = request.app[keys.CONFIG]
    alert = await acknowledge(
        request.app[keys.DATABASE], int(request.match_info["warning_id"]), staff.user.id
    )
    log.info("early_warning_acknowledged", alert_id=alert.id, user_id=staff.user.id)
    return web.json_response(alerts_json([alert], config, page_language(request, config))[0])


def setup_early_warnings(app: web.Application) -> None:
    """Routes of the early-warning API."""
    app.router.add_get("/api/stats/warnings", list_warnings)
    app.router.add_post(r"/api/stats/warnings/{warning_id:\d+}/acknowledge", acknowledge_warning)
