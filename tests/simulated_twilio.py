"""The real app with telephony on, its Twilio being the bundled simulator on a local port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.twilio_sim import TwilioSimulator
from hotline.web.app import create_app
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN


def free_port() -> int:
    """A local port nobody listens on now (the app's public URL must be known in advance)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SimulatedLine:
    """The served app, its client, the simulator, and the config the app runs with."""

    app: web.Application
    client: TestClient[Any, Any]
    sim: TwilioSimulator
    config: Config
    public_url: str


@contextlib.asynccontextmanager
async def simulated_line(
    aiohttp_server: Any, aiohttp_client: Any, config: Config, clock: ManualClock
) -> AsyncIterator[SimulatedLine]:
    """Serve the real app on a free port with the simulator as its Twilio; on the way out,
    let the simulator finish its callbacks and fail on any error it saw."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with TwilioSimulator(
        account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, webhook_base=public_url
    ) as sim:
        telephony = replace(
            config.telephony,
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            public_url=public_url,
            api_base_url=str(sim.api_base_url),
        )
        configured = replace(config, telephony=telephony)
        app = create_app(configured, clock=clock)
        server = await aiohttp_server(app, port=port)
        client = await aiohttp_client(server)
        yield SimulatedLine(app, client, sim, configured, public_url)
        await sim.settle()
        sim.raise_for_errors()
