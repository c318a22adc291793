"""The statistics pages, files, JSON and command: who may see them, what they refuse, and
that nothing in them identifies a caller."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hotline.cli import main
from hotline.clock import ManualClock
from hotline.config import Config, StatisticsConfig
from hotline.risk import RiskLevel
from hotline.users import Role
from hotline.web import keys
from tests.conftest import StaffFactory

NUMBER = "+8613912345678"
CALLER = "+8613700000001"
SECRET_TEXT = "我叫张秀英，住在镜湖区幸福路12号"
NAME = "张秀英"
NOTE = "母亲李桂兰的电话也要记下"
SUMMARY = "张秀英谈到失业和失眠"
WRAP = {
    "category": "suicidal_ideation",
    "outcome": "safety_plan",
    "referral": "police_110",
    "key_groups": [],
    "follow_up_wanted": False,
    "follow_up_reason": "person_declined",
    "summary": SUMMARY,
}
PERIOD = "from=2026-11-17&to=2026-11-23"


async def cli(argv: list[str]) -> int:
    """The `hotline` command, in a thread of its own (it runs its own event loop)."""
    return await asyncio.to_thread(main, argv)


def _app(client: TestClient[Any, Any]) -> web.Application:
    app = client.server.app
    assert app is not None
    return app


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """The default config (threshold 5) in a temporary data dir."""
    from hotline.config import load_config
    from tests.conftest import DEFAULT_CONFIG

    return load_config(DEFAULT_CONFIG, environ={"HOTLINE_DATA_DIR": str(tmp_path / "var")})


async def _seed(client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock) -> None:
    """Six texts from one number answered, noted and wrapped up (a referral each), five web
    chats and one call still waiting: figures to show, one to hide, all of it personal."""
    conversations = _app(client)[keys.CONVERSATIONS]
    counsellor = await login("li", Role.COUNSELLOR)
    for _ in range(6):
        contact, _message, _new = await conversations.sms_received(NUMBER, SECRET_TEXT)
        await conversations.raise_risk(contact.id, RiskLevel.HIGH, "screener", ["test"])
        clock.advance(seconds=12)
        taken = await counsellor.post("/console/api/take-next")
        assert (await taken.json())["contact"]["id"] == contact.id
        await counsellor.post(f"/console/api/contacts/{contact.id}/notes", {"text": NOTE})
        await counsellor.post(f"/console/api/contacts/{contact.id}/end")
        wrapped = await counsellor.post(f"/console/api/contacts/{contact.id}/wrap-up", WRAP)
        assert wrapped.status == 200, await wrapped.text()
        clock.advance(hours=1)
    for _ in range(5):
        await conversations.start_webchat("jinghu", "zh-CN")
    await conversations.start_call("CA" + "7" * 32, CALLER, RiskLevel.NONE, "yijiang")


async def test_only_supervisors_and_admins_see_statistics(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """Supervisors and admins get the figures; counsellors and coordinators are refused,
    and without a session the API says log in and the page sends to the login form."""
    for role, status in [
        (Role.SUPERVISOR, 200),
        (Role.ADMIN, 200),
        (Role.COUNSELLOR, 403),
        (Role.COORDINATOR, 403),
    ]:
        staff = await login(f"user_{role.value}", role, available=False)
        for path in (f"/api/stats?{PERIOD}", f"/stats/export.csv?{PERIOD}",
                     "/stats/monthly.md?month=2026-11", "/stats", "/stats/monthly"):
            response = await staff.get(path)
            assert response.status == status, (role, path)
    assert (await client.get(f"/api/stats?{PERIOD}")).status == 401
    page = await client.get("/stats", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-31&to=2026-12-01", "from"),
        ("from=2026-11-10&to=2026-11-01", None),
        ("from=2024-01-01&to=2026-11-01", None),
        (f"{PERIOD}&district=atlantis", "district"),
        (f"{PERIOD}&channel=fax", "channel"),
        (f"{PERIOD}&risk=extreme", "risk"),
        (f"{PERIOD}&incident=one", "incident"),
    ],
)
async def test_bad_periods_and_filters_are_refused_clearly(
    client: TestClient[Any, Any], login: StaffFactory, query: str, field: str | None
) -> None:
    """A malformed date, an inverted or overlong period, an unknown district, channel or
    risk level is a 400 that says what to change, never a guess."""
    supervisor = await login("sup", Role.SUPERVISOR, available=False)
    response = await supervisor.get(f"/api/stats?{query}")
    assert response.status == 400
    body = await response.json()
    assert body["message"]
    if field:
        assert body.get("field") == field


async def test_bad_export_dimension_and_month(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """An unknown export dimension or month is refused with the choices named."""
    supervisor = await login("sup", Role.SUPERVISOR, available=False)
    response = await supervisor.get(f"/stats/export.csv?{PERIOD}&by=day,street")
    assert response.status == 400
    assert "district" in (await response.json())["message"]
    response = await supervisor.get("/stats/monthly.md?month=2026-13")
    assert response.status == 400


async def test_the_page_shows_real_charts_of_real_contacts(
    client: TestClient[Any, Any], login: StaffFactory, clock: ManualClock
) -> None:
    """Contacts served through the real console appear in the figures, the charts and the
    export; the small ones suppressed."""
    await _seed(client, login, clock)
    supervisor = await login("sup", Role.SUPERVISOR, available=False)
    figures = await (await supervisor.get(f"/api/stats?{PERIOD}")).json()
    summary = figures["summary"]
    assert summary["offered"] == 12 and summary["answered"] == 6 and summary["waiting"] == 6
    assert summary["referred"] == 6 and summary["high_risk"] == 6
    assert summary["repeat"] == 5  # the same number, five more times
    channels = dict(zip(figures["channels"]["categories"], figures["channels"]["counts"],
                        strict=True))
    # One call: hidden, and the five web chats with it (the total, 12, would tell).
    assert channels == {"webchat": None, "voice": None, "sms": 6}
    page = await (await supervisor.get(f"/stats?{PERIOD}")).text()
    assert page.count("<svg") == 9
    assert 'data-value="6"' in page
    export = await (await supervisor.get(f"/stats/export.csv?{PERIOD}&by=day,channel")).text()
    lines = export.strip().splitlines()
    assert lines[0] == "day,channel,offered,answered,abandoned,overflowed,waiting,high_risk"
    assert "2026-11-23,sms,6,6,0,0,0,6" in lines


async def test_nothing_seen_or_exported_identifies_a_caller(
    client: TestClient[Any, Any],
    login: StaffFactory,
    clock: ManualClock,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every statistic, export, page and file, in both languages, searched for the seeded
    number, name, message text, note, summary and the caller's keyed hash: none appear."""
    await _seed(client, login, clock)
    app = _app(client)
    conversations = app[keys.CONVERSATIONS]
    needles = [NUMBER, NUMBER[1:], NUMBER[3:], CALLER, CALLER[3:], NAME, SECRET_TEXT, NOTE, SUMMARY,
               "李桂兰", "幸福路", conversations.caller_hash(NUMBER),
               conversations.caller_hash(NUMBER)[:16]]
    supervisor = await login("sup", Role.SUPERVISOR, available=False)
    seen = []
    for lang in ("zh-CN", "en"):
        for path in (
            f"/stats?{PERIOD}",
            f"/stats?{PERIOD}&channel=sms&risk=high&district=unknown",
            f"/api/stats?{PERIOD}",
            f"/stats/export.csv?{PERIOD}&by=day,district,channel,risk",
            "/stats/monthly?month=2026-11",
            "/stats/monthly.md?month=2026-11",
        ):
            response = await supervisor.get(f"{path}&lang={lang}")
            assert response.status == 200, path
            seen.append(await response.text())
    # The command reads the same store: stop the server's writer first by checkpointing.
    await app[keys.DATABASE].checkpoint()
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(config.data_dir))
    for argv in (
        ["stats", "export", "--from", "2026-11-01", "--to", "2026-11-30",
         "--by", "day,district,channel,risk"],
        ["stats", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json"],
        ["stats", "monthly", "--month", "2026-11"],
        ["stats", "monthly", "--month", "2026-11", "--lang", "en"],
    ):
        assert await asyncio.to_thread(main, argv) == 0
        seen.append(capsys.readouterr().out)
    assert all(seen)
    for text in seen:
        for needle in needles:
            assert needle not in text
    assert "6" in seen[-2]  # the report does carry the figures


async def test_export_and_monthly_commands(
    client: TestClient[Any, Any],
    login: StaffFactory,
    clock: ManualClock,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`hotline stats export` writes CSV or JSON with the same suppression as the page;
    `hotline stats monthly --out` writes the report file; bad arguments exit 2."""
    await _seed(client, login, clock)
    await _app(client)[keys.DATABASE].checkpoint()
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(config.data_dir))
    exported_file = tmp_path / "export.json"
    assert await cli(["stats", "export", "--from", "2026-11-23", "--to", "2026-11-23",
                      "--by", "channel", "--format", "json", "--out", str(exported_file)]) == 0
    exported = json.loads(exported_file.read_text("utf-8"))
    assert exported["suppression_threshold"] == 5
    rows = {row["channel"]: row for row in exported["rows"]}
    assert rows["sms"]["answered"] == 6
    assert rows["voice"]["waiting"] is None  # one call: suppressed
    assert rows["webchat"]["waiting"] is None  # five, hidden with it
    assert rows["webchat"]["offered"] is None
    out = tmp_path / "report.md"
    assert await cli(["stats", "monthly", "--month", "2026-11", "--out", str(out)]) == 0
    report = out.read_text("utf-8")
    assert report.startswith("# 芜湖市心理援助热线 · 2026-11 月度报告")
    assert "| 转介 | 6 |" in report
    assert await cli(["stats", "export", "--from", "2026-11-23", "--to", "2026-11-01"]) == 2
    assert await cli(["stats", "export", "--from", "x", "--to", "2026-11-01"]) == 2
    assert await cli(["stats", "export", "--from", "2026-11-01", "--to", "2026-11-02",
                 "--by", "street"]) == 2
    assert await cli(["stats", "monthly", "--month", "November"]) == 2
    assert "month must look like 2026-11" in capsys.readouterr().err


async def test_threshold_is_configurable_end_to_end(
    aiohttp_client: Any, config: Config, clock: ManualClock
) -> None:
    """With the threshold set to 1 a single waiting web chat shows as 1."""
    from hotline.web.app import create_app
    from tests.conftest import login_factory

    lowered = replace(config, statistics=StatisticsConfig(suppression_threshold=1))
    client = await aiohttp_client(create_app(lowered, clock=clock))
    await _app(client)[keys.CONVERSATIONS].start_webchat("jinghu", "zh-CN")
    supervisor = await login_factory(aiohttp_client, client)("sup", Role.SUPERVISOR,
                                                             available=False)
    figures = await (await supervisor.get(f"/api/stats?{PERIOD}")).json()
    assert figures["summary"]["waiting"] == 1 and figures["threshold"] == 1


async def test_admins_land_on_the_statistics_and_supervisors_find_them(
    client: TestClient[Any, Any], login: StaffFactory
) -> None:
    """An admin's login goes to /stats (the console is not theirs); every staff page's top
    bar carries the statistics link, shown to supervisors and admins."""
    from tests.conftest import submit_login

    await _app(client)[keys.USERS].add("root", "root", Role.ADMIN, "correct horse battery")
    response = await submit_login(client, "root")
    assert response.status == 303 and response.headers["Location"] == "/stats"
    supervisor = await login("sup", Role.SUPERVISOR, available=False)
    console = await (await supervisor.get("/console")).text()
    assert 'id="stats-link" class="btn btn-quiet stats-link" href="/stats"' in console
    assert 'data-role="supervisor"' in console
