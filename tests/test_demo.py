"""`hotline demo`: a newcomer sees demo logins that work and people arriving in the queue."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from pathlib import Path

import aiohttp

from tests.conftest import DEFAULT_CONFIG


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_demo_prints_logins_and_simulates_web_chats(tmp_path: Path) -> None:
    """The demo process prints working logins and its simulator queues real web chats."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hotline.cli",
        "--config",
        str(DEFAULT_CONFIG),
        "demo",
        "--port",
        str(port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"HOTLINE_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None
    try:
        logins: dict[str, str] = {}
        async with asyncio.timeout(30):
            while "admin" not in logins:
                line = (await process.stdout.readline()).decode()
                assert line, "the demo exited early"
                found = re.match(
                    r"\s+(counsellor|supervisor|coordinator|admin)\s+(\S+)\s+(\S+)$", line
                )
                if found:
                    logins[found.group(2)] = found.group(3)
        base = f"http://127.0.0.1:{port}"
        # unsafe=True: accept cookies from an IP address host, as browsers do.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            form = await (await session.get(f"{base}/login")).text()
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf
            login = await session.post(
                f"{base}/login",
                allow_redirects=False,
                data={
                    "username": "counsellor1",
                    "password": logins["counsellor1"],
                    "csrf_token": csrf.group(1),
                },
            )
            assert login.status == 303
            async with asyncio.timeout(30):
                while True:
                    health = await (await session.get(f"{base}/healthz")).json()
                    if health["queue_length"] >= 1:
                        break
                    await asyncio.sleep(0.5)  # another process produces the change
            assert health["status"] == "ok"
            # The demo brings its own (simulated) Twilio: telephony is on, so an unsigned
            # webhook is refused as forged (403) rather than "telephony off" (503).
            forged = await session.post(f"{base}/twilio/voice", data={"CallSid": "CA1"})
            assert forged.status == 403
    finally:
        process.terminate()
        await process.wait()
