"""Forwarded headers are believed from the configured proxy only."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.web.app import create_app


async def _starts_allowed(client: Any, forwarded_for: str, count: int) -> list[int]:
    statuses = []
    for _ in range(count):
        response = await client.post(
            "/chat/api/conversations", json={}, headers={"X-Forwarded-For": forwarded_for}
        )
        statuses.append(response.status)
    return statuses


async def test_trusted_proxy_gives_each_person_their_own_limit(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """Behind nginx, two people are limited separately, by the address nginx saw."""
    server = replace(config.server, trusted_proxies=("127.0.0.1",))
    limited = replace(config, server=server, webchat=replace(config.webchat, starts_per_minute=2))
    client = await aiohttp_client(create_app(limited, clock=clock))
    assert await _starts_allowed(client, "203.0.113.5", 3) == [201, 201, 429]
    assert await _starts_allowed(client, "198.51.100.7", 2) == [201, 201]
    # A client cannot dodge the limit by prepending addresses of its own.
    assert await _starts_allowed(client, "10.9.9.9, 203.0.113.5", 1) == [429]


async def test_untrusted_forwarded_headers_are_ignored(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """Without a trusted proxy, a made-up X-Forwarded-For changes nothing."""
    limited = replace(config, webchat=replace(config.webchat, starts_per_minute=2))
    client = await aiohttp_client(create_app(limited, clock=clock))
    assert await _starts_allowed(client, "203.0.113.5", 2) == [201, 201]
    assert await _starts_allowed(client, "198.51.100.7", 1) == [429]


async def test_https_origin_accepted_through_trusted_proxy(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """A browser's https:// origin matches when nginx says the request came over HTTPS."""
    trusted = replace(config, server=replace(config.server, trusted_proxies=("127.0.0.1",)))
    client = await aiohttp_client(create_app(trusted, clock=clock))
    started = await (await client.post("/chat/api/conversations", json={})).json()
    host = client.make_url("").host
    port = client.make_url("").port
    headers = {"Origin": f"https://{host}:{port}", "X-Forwarded-Proto": "https"}
    async with client.ws_connect(f"/chat/ws?token={started['token']}", headers=headers) as ws:
        assert (await ws.receive_json(timeout=5))["type"] == "history"
