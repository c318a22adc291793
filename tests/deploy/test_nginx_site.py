"""deploy/nginx.conf: nginx accepts it, and run for real in front of two real gateway processes
it serves HTTPS, upgrades websockets, passes Twilio's signed webhooks untouched, fails over
when a gateway dies, and never sends a POST a second time once a gateway has taken it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from redis import asyncio as aioredis
from twilio.request_validator import RequestValidator

from tests.deploy.scripts import DEPLOY, hotline_command, script_env
from tests.deploy.tools import free_port, require_tool, self_signed_certificate

SITE = DEPLOY / "nginx.conf"
SHIPPED_CERT = "/etc/letsencrypt/live/hotline.example.org/fullchain.pem"
SHIPPED_KEY = "/etc/letsencrypt/live/hotline.example.org/privkey.pem"
PUBLIC_URL = "https://hotline.example.org"
ACCOUNT_SID = "AC" + "d" * 32
AUTH_TOKEN = "deploy-test-auth-token"
REDIS_URL = "redis://127.0.0.1:6379/0"
# hotline@.service's TimeoutStopSec: systemd kills a gateway that has not stopped by then.
STOP_SECONDS = 20
CALL = {
    "CallSid": "CA" + "e" * 32,
    "AccountSid": ACCOUNT_SID,
    "From": "+8613900000000",
    "To": "+865533110000",
    "CallStatus": "ringing",
    "Direction": "inbound",
}


def _site(
    cert: Path,
    key: Path,
    *,
    upstream: list[str] | None = None,
    https_port: int | None = None,
    http_port: int | None = None,
) -> str:
    """The shipped site with what an operator edits: certificate paths, the upstream's server
    lines and (here, to run unprivileged beside other tests) the listening ports."""
    text = SITE.read_text()
    assert SHIPPED_CERT in text and SHIPPED_KEY in text
    text = text.replace(SHIPPED_CERT, str(cert)).replace(SHIPPED_KEY, str(key))
    if upstream is not None:
        block = re.search(r"upstream hotline_gateways \{.*?\n\}", text, re.S)
        assert block, "no upstream hotline_gateways block"
        lines = [line for line in block.group(0).splitlines() if not line.startswith("    server ")]
        lines[-1:-1] = [f"    server {server};" for server in upstream]
        text = text.replace(block.group(0), "\n".join(lines))
    if https_port is not None:
        text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
        text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
        text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    return text


def _nginx_conf(folder: Path, site: str, *, foreground: bool) -> Path:
    """A whole nginx.conf around the site, as Debian's includes conf.d/*.conf in `http {}`."""
    (folder / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + ("daemon off;\n" if foreground else "")
        + f"worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n  {temp}\n  include {folder / 'site.conf'};\n}}\n"
    )
    return conf


def _nginx_test(folder: Path, site: str) -> subprocess.CompletedProcess[str]:
    nginx = require_tool("nginx", "nginx")
    conf = _nginx_conf(folder, site, foreground=False)
    return subprocess.run(
        [nginx, "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "upstream",
    [
        pytest.param(None, id="two-gateways-as-shipped"),
        pytest.param(["127.0.0.1:8080"], id="one-process"),
        pytest.param(
            ["10.0.0.11:8081 max_fails=2 fail_timeout=10s", "10.0.0.12:8081 max_fails=2"],
            id="two-machines",
        ),
    ],
)
def test_nginx_accepts_the_site(tmp_path: Path, upstream: list[str] | None) -> None:
    """`nginx -t` passes the site with a real (self-signed) certificate in every layout the
    comments describe."""
    cert, key = self_signed_certificate(tmp_path)
    ran = _nginx_test(tmp_path, _site(cert, key, upstream=upstream))
    assert ran.returncode == 0, ran.stderr
    assert "test is successful" in ran.stderr


def test_the_site_sends_every_websocket_route_upgraded() -> None:
    """Each websocket route the app serves (hotline/web, dispatch/web) matches the upgrading
    location, and no plain route does."""
    routes = subprocess.run(
        ["grep", "-rhoE", r"add_get\(\"[^\"]*/ws\"", "hotline", "dispatch"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
        cwd=DEPLOY.parent,
    ).stdout.split()
    paths = sorted({route.split('"')[1] for route in routes})
    assert paths, "no websocket routes found in the app"
    pattern = re.search(
        r"location ~ (\S+) \{\n(?:[^}]*\n)*?\s*proxy_set_header Upgrade", SITE.read_text()
    )
    assert pattern, "no websocket location with an Upgrade header"
    upgraded = re.compile(pattern.group(1))
    assert [p for p in paths if not upgraded.search(p)] == []
    for plain in ("/chat/api/conversations", "/console/api/state", "/twilio/voice", "/ws"):
        assert not upgraded.search(plain), plain


# -- nginx running -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _nginx(folder: Path, site: str) -> AsyncIterator[Path]:
    """nginx in the foreground on the site; yields its error log."""
    nginx = require_tool("nginx", "nginx")
    conf = _nginx_conf(folder, site, foreground=True)
    log = folder / "error.log"
    process = await asyncio.create_subprocess_exec(
        nginx, "-p", str(folder), "-e", str(log), "-c", str(conf)
    )
    try:
        port = int(re.findall(r"listen 127\.0\.0\.1:(\d+) ssl", site)[0])
        await _wait_listening(port, lambda: process.returncode is None, log)
        yield log
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGQUIT)  # graceful stop
            await asyncio.wait_for(process.wait(), timeout=30)


async def _wait_listening(port: int, alive: object, log: Path) -> None:
    for _ in range(300):
        with contextlib.suppress(OSError):
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        assert callable(alive) and alive(), f"exited before listening:\n{_tail(log)}"
        await asyncio.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}:\n{_tail(log)}")


def _tail(path: Path) -> str:
    return "\n".join(path.read_text().splitlines()[-30:]) if path.exists() else "(no log)"


@dataclass
class Gateway:
    """A real `hotline serve` process, configured the way hotline@.service configures it."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextlib.contextmanager
def _gateways(
    folder: Path, ports: list[int], origin: str, prefix: str, slow: list[int]
) -> Iterator[list[Gateway]]:
    """Start the gateways one after the other; stop them as systemd would, noting in `slow`
    any that did not stop within the unit's TimeoutStopSec."""
    running: list[Gateway] = []
    try:
        for port in ports:
            env = script_env(
                HOTLINE_DATA_DIR=str(folder / "var"),
                HOTLINE_SERVER__PORT=str(port),  # as the unit: Environment=HOTLINE_SERVER__PORT=%i
                HOTLINE_SERVER__TRUSTED_PROXIES='["127.0.0.1"]',
                HOTLINE_SERVER__ALLOWED_ORIGINS=f'["{origin}"]',
                HOTLINE_SERVER__SECURE_COOKIES="true",
                HOTLINE_REDIS__URL=REDIS_URL,
                HOTLINE_REDIS__KEY_PREFIX=prefix,
                HOTLINE_PUBLIC_URL=PUBLIC_URL,
                HOTLINE_TELEPHONY__API_BASE_URL="http://127.0.0.1:9",
                TWILIO_ACCOUNT_SID=ACCOUNT_SID,
                TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            )
            log = folder / f"gateway-{port}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [hotline_command(), "serve"],
                    env=env,
                    cwd="/",
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            gateway = Gateway(port, process, log)
            running.append(gateway)
            # One after the other: the first start makes the key file and the database.
            asyncio.run(_wait_listening(port, lambda g=gateway: g.process.poll() is None, log))
        yield running
    finally:
        for gateway in running:
            if gateway.process.poll() is None:
                gateway.process.terminate()  # what systemctl stop sends first
        for gateway in running:
            try:
                gateway.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                gateway.process.kill()  # what systemd sends after TimeoutStopSec
                gateway.process.wait(timeout=30)
                slow.append(gateway.port)


async def _drop_keys(prefix: str) -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        found = [key async for key in client.scan_iter(match=prefix + "*")]
        if found:
            await client.delete(*found)
    finally:
        await client.aclose()


def _signed(path: str) -> dict[str, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + path, CALL)
    return {"X-Twilio-Signature": signature}


def test_two_gateways_behind_the_site(tmp_path: Path) -> None:
    """Two `hotline serve` processes (ports from HOTLINE_SERVER__PORT, sharing Redis and one
    data dir) behind the shipped site: HTTPS, a web chat over a websocket, Twilio's signature
    checked against the public URL; then one gateway is killed and every request still
    succeeds, the dead one's share of them (POSTs included) retried before they were sent."""
    cert, key = self_signed_certificate(tmp_path)
    https_port, http_port = free_port(), free_port()
    ports = [free_port(), free_port()]
    origin = f"https://127.0.0.1:{https_port}"
    prefix = f"hotline-deploy-test-{secrets.token_hex(4)}:"
    site = _site(
        cert,
        key,
        upstream=[f"127.0.0.1:{port} max_fails=2 fail_timeout=10s" for port in ports],
        https_port=https_port,
        http_port=http_port,
    )
    slow: list[int] = []
    try:
        with _gateways(tmp_path, ports, origin, prefix, slow) as gateways:
            try:
                asyncio.run(_through_nginx(tmp_path, site, origin, http_port, gateways))
            except BaseException:
                for gateway in gateways:
                    print(f"--- gateway {gateway.port}\n{_tail(gateway.log)}")
                raise
    finally:
        asyncio.run(_drop_keys(prefix))  # once the gateways have stopped writing
    assert not slow, f"gateways on {slow} ignored SIGTERM for {STOP_SECONDS} s (TimeoutStopSec)"


async def _through_nginx(
    folder: Path, site: str, origin: str, http_port: int, gateways: list[Gateway]
) -> None:
    async with (
        _nginx(folder, site) as log,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session,
    ):
        moved = await session.get(f"http://127.0.0.1:{http_port}/chat", allow_redirects=False)
        assert moved.status == 301 and moved.headers["Location"].startswith("https://")

        health = await session.get(f"{origin}/healthz")
        assert health.status == 200, await health.text()
        assert "max-age" in health.headers["Strict-Transport-Security"]

        started = await session.post(f"{origin}/chat/api/conversations", json={})
        assert started.status == 201, await started.text()
        token = (await started.json())["token"]
        async with session.ws_connect(
            f"{origin}/chat/ws?token={token}", headers={"Origin": origin}
        ) as ws:
            await ws.send_json({"type": "message", "text": "经过 nginx 的第一句话"})
            while (frame := await ws.receive_json(timeout=10))["type"] != "message":
                pass
            assert frame["message"]["text"] == "经过 nginx 的第一句话"

        # The signature covers the public URL, path and query: it holds only if nginx passed
        # them on untouched.
        path = "/twilio/voice?probe=1"
        answered = await session.post(f"{origin}{path}", data=CALL, headers=_signed(path))
        assert answered.status == 200, await answered.text()
        assert "<Response>" in await answered.text()
        forged = await session.post(f"{origin}{path}", data=CALL, headers=_signed("/twilio/sms"))
        assert forged.status == 403
        too_big = await session.post(f"{origin}/twilio/sms", data={"Body": "x" * 70_000})
        assert too_big.status == 413  # nginx: the app's own webhook limit is 64 KB

        gateways[0].process.kill()  # SIGKILL: no goodbye
        gateways[0].process.wait(timeout=30)
        # POSTs first: until the dead gateway has failed twice (max_fails) it is still tried,
        # and a refused connection means the request was never sent, so it goes on.
        for n in range(6):
            path = f"/twilio/voice?failover={n}"
            answered = await session.post(f"{origin}{path}", data=CALL, headers=_signed(path))
            assert answered.status == 200, await answered.text()
        for _ in range(6):
            assert (await session.get(f"{origin}/healthz")).status == 200
        refused = [
            line
            for line in log.read_text().splitlines()
            if "Connection refused" in line and f":{gateways[0].port}/" in line
        ]
        assert any('"POST /twilio/voice' in line for line in refused), _tail(log)


# -- the retry policy, alone -------------------------------------------------------------------


@dataclass
class Upstream:
    """A stand-in gateway that records the methods it received."""

    methods: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def _dying_gateway(port: int, seen: Upstream) -> AsyncIterator[None]:
    """Reads a whole request, then drops the connection without answering: a gateway that
    died after it took the request (and may have acted on it)."""

    async def take(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            seen.methods.append(head.split(b" ", 1)[0].decode())
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # nginx gave up on this connection first
        finally:
            writer.close()

    server = await asyncio.start_server(take, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def _healthy_gateway(port: int, seen: Upstream) -> AsyncIterator[None]:
    async def answer(request: web.Request) -> web.Response:
        seen.methods.append(request.method)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield
    finally:
        await runner.cleanup()


async def test_a_post_a_gateway_took_is_never_sent_again(tmp_path: Path) -> None:
    """Behind the site, a GET that a gateway swallowed goes on to the next one; a POST it
    swallowed is answered 502 and reaches no other gateway (it may have queued a person)."""
    cert, key = self_signed_certificate(tmp_path)
    https_port, http_port, dying_port, healthy_port = (free_port() for _ in range(4))
    # max_fails=0 keeps the dying gateway in the rotation, so it is offered requests of both
    # kinds; the shipped value would take it out after two.
    site = _site(
        cert,
        key,
        upstream=[f"127.0.0.1:{dying_port} max_fails=0", f"127.0.0.1:{healthy_port}"],
        https_port=https_port,
        http_port=http_port,
    )
    dying, healthy = Upstream(), Upstream()
    origin = f"https://127.0.0.1:{https_port}"
    async with (
        _dying_gateway(dying_port, dying),
        _healthy_gateway(healthy_port, healthy),
        _nginx(tmp_path, site),
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session,
    ):
        statuses: dict[str, list[int]] = {"GET": [], "POST": []}
        for method in ("GET", "POST"):
            for _ in range(6):
                async with session.request(method, f"{origin}/console/api/state") as response:
                    statuses[method].append(response.status)
    assert dying.methods.count("GET") >= 1 and dying.methods.count("POST") >= 1, dying
    assert statuses["GET"] == [200] * 6
    assert statuses["POST"].count(502) == dying.methods.count("POST")
    assert healthy.methods.count("POST") == 6 - dying.methods.count("POST")
