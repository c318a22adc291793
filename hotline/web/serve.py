"""Running the app on a socket, with a clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

import structlog
from aiohttp import web

from hotline.config import Config

log = structlog.get_logger(__name__)


def run(app: web.Application, config: Config) -> None:
    """Serve until interrupted; websockets are closed and the database checkpointed on exit."""
    log.info("serving", host=config.server.host, port=config.server.port)
    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        access_log=None,
        print=None,
        shutdown_timeout=10,
    )
