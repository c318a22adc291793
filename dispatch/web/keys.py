"""Typed application keys for the dispatch side (the hotline's own keys are in hotline.web.keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from dispatch.config import DispatchConfig
from dispatch.followups.settings import FollowUpSettings
from dispatch.incidents.plans import Plans

if TYPE_CHECKING:  # the desk imports the store and paging; the key needs no class at run time
    from dispatch.desk import DispatchDesk
    from dispatch.followups.service import FollowUps
    from dispatch.incidents.service import IncidentDesk

DISPATCH_CONFIG = web.AppKey("dispatch_config", DispatchConfig)
DESK: web.AppKey[DispatchDesk] = web.AppKey("dispatch_desk")
FOLLOWUP_SETTINGS = web.AppKey("followup_settings", FollowUpSettings)
FOLLOWUPS: web.AppKey[FollowUps] = web.AppKey("followups")
PLANS = web.AppKey("plans", Plans)
INCIDENTS: web.AppKey[IncidentDesk] = web.AppKey("incidents")
