"""Running the app on a socket, with a clean shutdown on SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from aiohttp import web

from hotline.config import Config

log = structlog.get_logger(__name__)


def run(app: web.Application, config: Config, announce: Callable[[], None] | None = None) -> None:
    """Serve until interrupted; websockets are closed and the database checkpointed on exit.

    `announce` runs once the socket is listening, so whatever it prints can be used at once.
    """

    def listening(_banner: str) -> None:
        log.info("serving", host=config.server.host, port=config.server.port)
        if announce is not None:
            announce()

    web.run_app(
        app,
        host=config.server.host,
        port=config.server.port,
        access_log=None,
        print=listening,
        shutdown_timeout=10,
    )
