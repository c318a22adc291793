"""A TCP relay between the application and its PostgreSQL server that a test can cut.

Stopping the shared test server would break every other test's database; a relay in front
of it gives one test its own "the database went away": `cut()` closes every relayed
connection and resets each new one at once (what the application sees when the server
crashed or the network between the machines failed), `restore()` relays again. The relay
keeps its port while cut, so no other test can take it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web
from aiohttp.test_utils import TestClient


class StoreOutage:
    """Relays 127.0.0.1:<port> to the server named in a URL, until cut."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._url = parts
        self._server: asyncio.Server | None = None
        self._port = 0
        self._is_cut = False
        self._links: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The same database, reached through the relay."""
        netloc = self._url.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self._port}"
        return urlunsplit(
            self._url._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) > 1 else host)
        )

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self._port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Close every relayed connection and reset new ones at once. The port keeps
        listening, so nothing else on the machine can take it before `restore()`."""
        self._is_cut = True
        for writer in list(self._links):
            writer.transport.abort()
        self._links.clear()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)

    async def restore(self) -> None:
        """Relay connections again."""
        self._is_cut = False

    async def close(self) -> None:
        await self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._is_cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._links.update((writer, up_writer))
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            pump = asyncio.create_task(self._pump(source, sink))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(65536):
                sink.write(chunk)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.transport.abort()
            self._links.discard(sink)


def app_of(client: TestClient[Any, Any]) -> web.Application:
    """The application behind a test client."""
    app = client.server.app
    assert app is not None
    return app


async def eventually(test: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Wait until `test()` holds (the store came back and what was kept was replayed)."""
    async with asyncio.timeout(seconds):
        for _ in itertools.count():
            if await test():
                return
            await asyncio.sleep(0.1)
