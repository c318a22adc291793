"""Personal data: never in a log line, never on disk in clear."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from hotline.config import Config
from hotline.crypto import DataKeyError, FieldCipher
from hotline.logs import configure_logging
from tests.conftest import StaffFactory

SECRET_TEXT = "我叫张秀英，电话13800138000，住在镜湖区某某小区"
REPLY_TEXT = "张女士，我们在这里陪着您"
NOTE_TEXT = "来电者提到独居，邻居李建国"
SUMMARY_TEXT = "总结：联系电话13800138000"
STAFF_NAME = "wang"  # the fixture's display name is "wang 老师"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route the app's structlog output (the production JSON renderer) into a buffer."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield stream
    structlog.reset_defaults()


async def _full_conversation(client: TestClient[Any, Any], login: StaffFactory) -> None:
    counsellor = await login(STAFF_NAME)
    started = await (
        await client.post("/chat/api/conversations", json={"district": "jinghu"})
    ).json()
    origin = str(client.make_url("")).rstrip("/")
    async with client.ws_connect(
        f"/chat/ws?token={started['token']}", headers={"Origin": origin}
    ) as ws:
        await ws.send_json({"type": "message", "text": SECRET_TEXT})
        while (await ws.receive_json(timeout=5))["type"] != "message":
            pass
        contact = (await (await counsellor.post("/console/api/take-next")).json())["contact"]
        base = f"/console/api/contacts/{contact['id']}"
        assert (await counsellor.post(f"{base}/messages", {"text": REPLY_TEXT})).status == 201
        assert (await counsellor.post(f"{base}/notes", {"text": NOTE_TEXT})).status == 201
        await ws.send_json({"type": "end"})
        while (await ws.receive_json(timeout=5))["type"] != "ended":
            pass
    wrap = await counsellor.post(
        f"{base}/wrap-up",
        {
            "category": "emotional_distress",
            "outcome": "supported",
            "referral": "none",
            "follow_up_wanted": False,
            "key_groups": ["elderly_alone"],
            "summary": SUMMARY_TEXT,
        },
    )
    assert wrap.status == 200, await wrap.text()


async def test_logs_carry_ids_not_personal_data(
    client: TestClient[Any, Any],
    login: StaffFactory,
    log_stream: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A whole conversation leaves JSON log lines with request ids and no text, name or number."""
    await _full_conversation(client, login)
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines() if line.strip()]
    assert any(line["event"] == "request" and line.get("request_id") for line in lines)
    assert any(line["event"] == "contact_taken" and "contact_id" in line for line in lines)
    everything = log_stream.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("13800138000", "张秀英", "张女士", "李建国", "陪着您", "总结", "老师", "token="):
        assert secret not in everything, f"{secret!r} reached the logs"
    assert "127.0.0.1" not in everything, "a client address reached the logs"


def test_redaction_catches_a_careless_field(log_stream: io.StringIO) -> None:
    """Even a log call that passes text by mistake writes no personal data."""
    structlog.get_logger("test").info("oops", text=SECRET_TEXT, phone="13800138000")
    assert "13800138000" not in log_stream.getvalue()
    assert '"text": "[redacted]"' in log_stream.getvalue()


async def test_nothing_personal_is_on_disk_in_clear(
    client: TestClient[Any, Any], login: StaffFactory, config: Config
) -> None:
    """The SQLite files (database, WAL) hold no message, note, summary or staff name in clear."""
    await _full_conversation(client, login)
    raw, names = _read_all(config.data_dir)
    assert "hotline.sqlite3-wal" in names
    for secret in (SECRET_TEXT, REPLY_TEXT, NOTE_TEXT, SUMMARY_TEXT, "13800138000", "老师"):
        assert secret.encode("utf-8") not in raw, f"{secret!r} is on disk in clear"
    key = config.data_dir / "keys" / "data.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def _read_all(folder: Path) -> tuple[bytes, set[str]]:
    """Every byte under a folder (the database, its WAL, the key), and the file names."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return b"".join(p.read_bytes() for p in files), {p.name for p in files}


def test_sealed_text_opens_only_in_its_own_place() -> None:
    """A ciphertext moved to another row, or opened with another key, does not open."""
    cipher = FieldCipher(os.urandom(32))
    sealed = cipher.seal(SECRET_TEXT, "messages.body:1")
    assert cipher.open(sealed, "messages.body:1") == SECRET_TEXT
    with pytest.raises(DataKeyError):
        cipher.open(sealed, "messages.body:2")
    with pytest.raises(DataKeyError):
        FieldCipher(os.urandom(32)).open(sealed, "messages.body:1")
    assert cipher.keyed_hash("13800138000") == cipher.keyed_hash("13800138000")
    assert "13800138000" not in cipher.keyed_hash("13800138000")
