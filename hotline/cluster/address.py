"""Where the shared Redis is: one server (`redis://`), or the master a set of Redis
Sentinels names (`redis+sentinel://`).

With Sentinel the gateways ask the sentinels for the current master on every new
connection, so a failover needs no change of config and no restart: connections to the
old master fail, the cluster handle marks Redis unavailable for a moment, and the next
command reaches the promoted replica (docs/operations.md, "High availability").

    redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/<service>[/<db>]

The password (optional) is the Redis servers' (`requirepass`, also `sentinel auth-pass`);
sentinels themselves are reached without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"
SCHEMES = ("redis://", "rediss://", "unix://", SENTINEL_SCHEME)


class AddressError(ValueError):
    """A Redis address that cannot be used; the message says what is wrong."""


@dataclass(frozen=True)
class SentinelAddress:
    """The sentinels to ask, the name of the master they watch, and its database."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None


def parse_sentinel(url: str) -> SentinelAddress:
    """Read a `redis+sentinel://` address (AddressError naming the problem)."""
    rest = url.removeprefix(SENTINEL_SCHEME)
    password: str | None = None
    if "@" in rest:
        credentials, rest = rest.rsplit("@", 1)
        password = unquote(credentials.split(":", 1)[-1]) or None
    hosts, _, path = rest.partition("/")
    parts = [p for p in path.split("/") if p]
    if not hosts or not parts or len(parts) > 2:
        raise AddressError(
            "a sentinel address is redis+sentinel://host:26379[,host:26379...]/<service>[/<db>]"
        )
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":")
        if not name or not port.isdigit():
            raise AddressError(f"sentinel {host!r} must be host:port")
        sentinels.append((name, int(port)))
    if len(parts) == 2 and not parts[1].isdigit():
        raise AddressError(f"the database {parts[1]!r} must be a number")
    return SentinelAddress(
        tuple(sentinels), parts[0], int(parts[1]) if len(parts) == 2 else 0, password
    )


def connect(url: str, **options: Any) -> aioredis.Redis:
    """A client for the address; `options` (timeouts, health checks) apply to the
    connections to Redis itself, and the timeouts also to the sentinels."""
    if not url.startswith(SENTINEL_SCHEME):
        return aioredis.Redis.from_url(url, **options)
    address = parse_sentinel(url)
    timeouts = {
        name: options[name]
        for name in ("socket_timeout", "socket_connect_timeout")
        if name in options
    }
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
        list(address.sentinels), sentinel_kwargs=timeouts, **timeouts
    )
    master: aioredis.Redis = sentinel.master_for(
        address.service,
        db=address.db,
        password=address.password,
        **{k: v for k, v in options.items() if k not in timeouts},
    )
    return master
