"""All of dispatch's HTTP routes, registered by the application factory in one call."""

from __future__ import annotations

from aiohttp import web

from dispatch.web.board import setup_board
from dispatch.web.calendar import setup_calendar
from dispatch.web.followups import setup_followups
from dispatch.web.incidents import setup_incidents
from dispatch.web.page_links import setup_page_links
from dispatch.web.paging_hooks import setup_paging_hooks


def setup_dispatch(app: web.Application) -> None:
    """Paging webhooks, page links, the board, team calendars and follow-up."""
    setup_paging_hooks(app)
    setup_page_links(app)
    setup_calendar(app)
    setup_board(app)
    setup_followups(app)
    setup_incidents(app)
