"""Telephony fixtures: a config with Twilio credentials and a client that signs webhooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from twilio.request_validator import RequestValidator

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.web.app import create_app

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token"
PUBLIC_URL = "https://hotline.example.org"


@pytest.fixture
def telephony_config(config: Config) -> Config:
    """The default config with Twilio credentials, served behind a public https address."""
    telephony = replace(
        config.telephony, account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL
    )
    return replace(config, telephony=telephony)


class Twilio:
    """Posts webhooks the way Twilio does: form-encoded, signed for the public URL."""

    def __init__(self, client: TestClient[Any, Any], token: str = AUTH_TOKEN) -> None:
        self.client = client
        self.token = token

    async def post(self, path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
        if signature is None:
            signature = RequestValidator(self.token).compute_signature(PUBLIC_URL + path, params)
        return await self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
async def phone_client(
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
    telephony_config: Config,
    clock: ManualClock,
) -> TestClient[Any, Any]:
    """The real app with telephony on."""
    return await aiohttp_client(create_app(telephony_config, clock=clock))


@pytest.fixture
def twilio(phone_client: TestClient[Any, Any]) -> Twilio:
    """Signed webhooks into the app."""
    return Twilio(phone_client)
