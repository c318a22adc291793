"""Typed application keys for the dispatch side (the hotline's own keys are in hotline.web.keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from dispatch.config import DispatchConfig

if TYPE_CHECKING:  # the desk imports the store and paging; the key needs no class at run time
    from dispatch.desk import DispatchDesk

DISPATCH_CONFIG = web.AppKey("dispatch_config", DispatchConfig)
DESK: web.AppKey[DispatchDesk] = web.AppKey("dispatch_desk")
