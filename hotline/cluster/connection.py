"""The shared Redis connection, its key names, and whether it is answering now."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from hotline.cluster.address import connect

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long a command may take before Redis counts as gone: a hotline must not hang on it.
SOCKET_TIMEOUT_SECONDS = 2.0


class Cluster:
    """One gateway process's handle on the shared Redis.

    `origin` names this process in relayed events and liveness keys. `available` turns false
    on the first failed command and true again on the next that succeeds, so callers fall
    back to the store meanwhile and `/healthz` can say so.
    """

    def __init__(self, url: str, prefix: str, origin: str | None = None) -> None:
        self.url = url
        self.prefix = prefix
        self.origin = origin or secrets.token_hex(6)
        self.redis: aioredis.Redis = connect(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            health_check_interval=10,
        )
        self.available = False
        self.last_error: str | None = None
        self._on_return: list[Callable[[], Awaitable[None]]] = []

    def key(self, *parts: object) -> str:
        """A key in this hotline's namespace, e.g. `hotline:queue:voice`."""
        return self.prefix + ":".join(str(part) for part in parts)

    def on_return(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` whenever Redis answers again after failing (catch-up work)."""
        self._on_return.append(callback)

    async def run(self, what: str, command: Callable[[], Awaitable[T]]) -> T | None:
        """Run one Redis operation; None (and `available` false) if Redis did not answer."""
        try:
            result = await command()
        except (RedisError, OSError) as exc:
            self._failed(what, exc)
            return None
        await self._succeeded()
        return result

    async def ping(self) -> bool:
        """True when Redis answers now (health checks and the reconnect loop)."""
        return bool(await self.run("ping", self.redis.ping))

    def _failed(self, what: str, exc: BaseException) -> None:
        if self.available or self.last_error is None:
            log.warning("redis_unavailable", operation=what, error_type=type(exc).__name__)
        self.available = False
        self.last_error = type(exc).__name__

    async def _succeeded(self) -> None:
        if self.available:
            return
        returning = self.last_error is not None
        self.available = True
        self.last_error = None
        if returning:
            log.info("redis_available_again")
            for callback in self._on_return:
                try:
                    await callback()
                except (RedisError, OSError) as exc:
                    self._failed("catch_up", exc)
                    return

    async def close(self) -> None:
        """Close the connection pool."""
        await self.redis.aclose()
