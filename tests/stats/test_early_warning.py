"""Early warning: a district's window against its own baseline, tested for a rise beyond
chance (Poisson for counts, binomial for the high-risk share, Bonferroni across tests), stored
once per window, acknowledged by supervisors, shown as aggregates only."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from scipy.stats import binomtest, poisson
from structlog.testing import capture_logs

from hotline.clock import ManualClock
from hotline.config import Config
from hotline.errors import NotFound
from hotline.stats.warning import (
    EXPECTED_FLOOR,
    EarlyWarning,
    acknowledge,
    alerts_json,
    check,
    open_alerts,
    raise_alerts,
)
from hotline.store.database import DB_FILE, Database
from hotline.users import Role
from hotline.web import keys
from hotline.web.app import create_app
from hotline.web.early_warning_job import EARLY_WARNING_JOB, EarlyWarningJob
from tests.conftest import Staff, login_factory

ClientFactory = Callable[..., Awaitable[TestClient[Any, Any]]]

BASELINE_DAYS = 28
# The window's share of the baseline's length, as the check computes it for a full baseline.
SCALE = 24 / (BASELINE_DAYS * 24)
# Contact ids of the seeded log: large, so that finding one in an answer means a leak.
FIRST_CONTACT = 900_001
PHONE = "13912345678"
WORDS = "我不想活了，我的电话是13912345678"
# Every key an alert may show: aggregates, the test, and the alert's own bookkeeping.
ALERT_KEYS = {
    "id",
    "district",
    "measure",
    "window_start",
    "window_end",
    "observed",
    "expected",
    "window_total",
    "baseline_share",
    "ratio",
    "p_value",
    "threshold",
    "tests",
    "raised_at",
    "acknowledged_at",
    "acknowledged_by",
}


class ContactLog:
    """Writes contacts' events (arrival, risk, incident tag) at the clock's current instant."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.next_id = FIRST_CONTACT

    async def add(
        self, district: str | None, count: int, *, high: int = 0, tagged: int = 0
    ) -> None:
        """`count` contacts of one district, the first `high` of them assessed high or
        imminent (half raised after arrival, half at arrival), the first `tagged` of them
        tagged with an incident."""
        async with self.db.transaction() as tx:
            for i in range(count):
                subject = f"contact:{self.next_id}"
                self.next_id += 1
                at_arrival = "high" if i < high and i % 2 else "none"
                await tx.append_event(
                    "contact.queued",
                    subject,
                    "caller",
                    {"channel": "voice", "district": district, "risk": at_arrival, "repeat": False},
                )
                if i < high and at_arrival == "none":
                    await tx.append_event(
                        "contact.risk_changed",
                        subject,
                        "user:1",
                        {"from": "none", "to": "imminent", "source": "assessment", "reasons": []},
                    )
                if i < tagged:
                    await tx.append_event(
                        "contact.incident_tagged", subject, "user:1", {"incident_id": 1, "via": "x"}
                    )


Day = tuple[int, int, int]  # contacts per day, high-risk contacts in all, tagged ones in all


async def history(
    log: ContactLog,
    clock: ManualClock,
    baseline: dict[str, Day],
    window: dict[str, Day],
) -> None:
    """28 days of baseline then a window's contacts (mid-window), ending with the clock at the
    window's end. High-risk and tagged baseline contacts go one a day from the first day."""
    for day in range(BASELINE_DAYS):
        for district, (per_day, high, tagged) in baseline.items():
            await log.add(district, per_day, high=int(day < high), tagged=int(day < tagged))
        clock.advance(days=1)
    clock.advance(hours=12)
    for district, (count, high, tagged) in window.items():
        await log.add(district, count, high=high, tagged=tagged)
    clock.advance(hours=12)


@pytest.fixture
async def db(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Database]:
    """The real store in a temporary folder, on the test's clock."""
    database = await Database.open(tmp_path / DB_FILE, clock)
    yield database
    await database.close()


@pytest.fixture
def contact_log(db: Database) -> ContactLog:
    """A writer of contact events into the test's store."""
    return ContactLog(db)


async def test_a_steady_district_raises_nothing(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """Five contacts a day for four weeks and five today: nothing to see."""
    await history(contact_log, clock, {"jinghu": (5, 3, 0)}, {"jinghu": (5, 0, 0)})
    assert await check(db, config, clock.now()) == []
    assert await raise_alerts(db, config, clock.now()) == []


async def test_a_rise_in_contacts_alerts_with_scipys_p_value(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """Two a day for four weeks, fifteen today: a `contacts` alert whose p-value is scipy's
    Poisson tail for those numbers; the steady neighbour raises nothing."""
    await history(
        contact_log,
        clock,
        {"jinghu": (2, 0, 0), "yijiang": (5, 0, 0)},
        {"jinghu": (15, 0, 0), "yijiang": (5, 0, 0)},
    )
    [alert] = await check(db, config, clock.now())
    expected = 56 * SCALE
    assert alert.district == "jinghu" and alert.measure == "contacts"
    assert alert.observed == 15
    assert alert.expected == expected
    assert alert.p_value == float(poisson.sf(15 - 1, expected))
    assert alert.ratio == pytest.approx(15 / 2)
    assert alert.tests == 6  # two districts: contacts, incident-tagged, high-risk share
    assert alert.threshold == config.early_warning.significance / 6
    assert alert.window_end == clock.now()
    assert (alert.window_end - alert.window_start).total_seconds() == 24 * 3600


async def test_a_rise_in_high_risk_share_at_steady_volume(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """Eight a day with six high-risk in four weeks; today eight with six high-risk: the
    share alerts (binomial test against the smoothed baseline share), the volume does not."""
    await history(contact_log, clock, {"jinghu": (8, 6, 0)}, {"jinghu": (8, 6, 0)})
    [alert] = await check(db, config, clock.now())
    share = (6 + 1) / (8 * 28 + 2)
    assert alert.measure == "high_risk_share"
    assert (alert.observed, alert.window_total) == (6, 8)
    assert alert.baseline_share == share
    assert alert.expected == 8 * share
    assert alert.p_value == float(binomtest(6, 8, share, alternative="greater").pvalue)


async def test_incident_tagged_contacts_alert_above_the_floor(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """No tagged contact in four weeks, seven today: the expectation is the floor (one per
    window), not zero, and seven beyond it alerts."""
    await history(contact_log, clock, {"jinghu": (5, 0, 0)}, {"jinghu": (7, 0, 7)})
    [alert] = await check(db, config, clock.now())
    assert alert.measure == "incident_tagged"
    assert (alert.observed, alert.expected) == (7, EXPECTED_FLOOR)
    assert alert.p_value == float(poisson.sf(6, EXPECTED_FLOOR))


@pytest.mark.parametrize(("threshold", "measures"), [(5, []), (4, ["high_risk_share"])])
async def test_a_significant_rise_below_the_suppression_threshold_raises_nothing(
    db: Database,
    contact_log: ContactLog,
    clock: ManualClock,
    config: Config,
    threshold: int,
    measures: list[str],
) -> None:
    """Four high-risk contacts of eight, after none in four weeks, is far beyond chance, but
    an alert would show a cell of four: only a threshold of four lets it through."""
    await history(contact_log, clock, {"jinghu": (8, 0, 0)}, {"jinghu": (8, 4, 0)})
    config = replace(config, statistics=replace(config.statistics, suppression_threshold=threshold))
    share = 1 / (8 * 28 + 2)
    assert binomtest(4, 8, share, alternative="greater").pvalue < 1e-6
    assert [a.measure for a in await check(db, config, clock.now())] == measures


@pytest.mark.parametrize(
    ("steady_districts", "tests", "alerted"),
    [
        (0, 3, True),  # 0.000594 < 0.01 / 3
        (2, 9, True),  # 0.000594 < 0.01 / 9
        (7, 24, False),  # 0.000594 > 0.01 / 24: beyond chance for one test, not for 24
    ],
)
async def test_bonferroni_decides_a_borderline_rise(
    db: Database,
    contact_log: ContactLog,
    clock: ManualClock,
    config: Config,
    steady_districts: int,
    tests: int,
    alerted: bool,
) -> None:
    """Six contacts where one is usual (p = 0.000594) alert or not depending on how many
    tests the check made: more districts, a stricter level for each."""
    others = [d.id for d in config.districts if d.id != "jinghu"][:steady_districts]
    await history(
        contact_log,
        clock,
        {"jinghu": (1, 0, 0), **{d: (1, 0, 0) for d in others}},
        {"jinghu": (6, 0, 0), **{d: (1, 0, 0) for d in others}},
    )
    p_value = float(poisson.sf(5, 1.0))
    assert p_value < config.early_warning.significance  # significant uncorrected, every row
    found = await check(db, config, clock.now())
    assert [(a.district, a.measure) for a in found] == ([("jinghu", "contacts")] if alerted else [])
    if found:
        assert found[0].tests == tests
        assert found[0].p_value == p_value


async def test_too_little_history_tests_nothing(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """Three days after the line opened there is no "usual" yet: a burst raises nothing."""
    await contact_log.add("jinghu", 1)
    clock.advance(days=3)
    await contact_log.add("jinghu", 30)
    clock.advance(hours=1)
    assert await check(db, config, clock.now()) == []


async def test_no_repeated_alert_within_the_window(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """A lasting rise is raised once per window, not at every check; once the alert's window
    is over, a rise still going on is raised again."""
    await history(contact_log, clock, {"jinghu": (2, 0, 0)}, {"jinghu": (15, 0, 0)})
    [first] = await raise_alerts(db, config, clock.now())
    clock.advance(hours=1)
    assert [a.measure for a in await check(db, config, clock.now())] == ["contacts"]
    assert await raise_alerts(db, config, clock.now()) == []
    clock.advance(hours=12)
    await contact_log.add("jinghu", 15)
    clock.advance(hours=12)
    [second] = await raise_alerts(db, config, clock.now())
    assert second.id != first.id
    assert [a.id for a in await open_alerts(db)] == [first.id, second.id]


async def test_a_raised_alert_is_stored_and_appended_as_aggregates(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """The stored alert equals the one raised, and its event says only aggregates."""
    await history(contact_log, clock, {"jinghu": (2, 0, 0)}, {"jinghu": (15, 0, 0)})
    async with db.bus.subscribe() as live:
        [raised] = await raise_alerts(db, config, clock.now())
        published = live.drain()
    assert [e.kind for e in published] == ["stats.early_warning"]
    assert await open_alerts(db) == [raised]
    [event] = [e for e in await db.events_for("district:jinghu")]
    assert event.kind == "stats.early_warning" and event.actor == "system"
    assert event.data["alert_id"] == raised.id
    assert set(event.data) - {"alert_id"} <= ALERT_KEYS
    assert (event.data["observed"], event.data["measure"]) == (15, "contacts")


async def test_acknowledge_closes_an_alert_once(
    db: Database, contact_log: ContactLog, clock: ManualClock, config: Config
) -> None:
    """An acknowledged alert leaves the open list; a second click changes nothing; an
    unknown alert is NotFound."""
    await history(contact_log, clock, {"jinghu": (2, 0, 0)}, {"jinghu": (15, 0, 0)})
    [raised] = await raise_alerts(db, config, clock.now())
    assert raised.id is not None
    clock.advance(minutes=5)
    seen = await acknowledge(db, raised.id, 7)
    assert (seen.acknowledged_at, seen.acknowledged_by) == (clock.now(), 7)
    assert await open_alerts(db) == []
    clock.advance(minutes=1)
    assert await acknowledge(db, raised.id, 8) == seen
    acks = [
        e
        for e in await db.events_for("district:jinghu")
        if e.kind == "stats.early_warning_acknowledged"
    ]
    assert [(e.actor, e.data) for e in acks] == [
        ("user:7", {"alert_id": raised.id, "measure": "contacts"})
    ]
    with pytest.raises(NotFound):
        await acknowledge(db, raised.id + 1, 7)


async def test_a_failing_pass_is_logged_by_type_and_survived(
    tmp_path: Path, clock: ManualClock, config: Config
) -> None:
    """A pass that cannot read the store logs its error type, nothing else, and returns."""
    database = await Database.open(tmp_path / DB_FILE, clock)
    await database.close()
    job = EarlyWarningJob(database, config, clock)
    with capture_logs() as logs:
        assert await job.run_once() == []
    assert logs == [
        {"event": "early_warning_failed", "error_type": "ValueError", "log_level": "error"}
    ]
    assert job.first_pass.is_set() and job.passes == 1


def test_alerts_json_names_the_district_and_measure(config: Config) -> None:
    """The pages get the district's and the measure's names in the page's language."""
    alert = EarlyWarning(
        district="jinghu",
        measure="high_risk_share",
        window_start=datetime(2026, 1, 1, tzinfo=UTC),
        window_end=datetime(2026, 1, 2, tzinfo=UTC),
        observed=6,
        expected=0.25,
        ratio=24.0,
        p_value=1e-7,
        threshold=0.01 / 3,
        tests=3,
        window_total=8,
        baseline_share=0.031,
    )
    [zh] = alerts_json([alert], config, "zh-CN")
    [en] = alerts_json([alert], config, "en")
    assert (zh["district_name"], zh["measure_name"]) == ("镜湖区", "高危比例")
    assert (en["district_name"], en["measure_name"]) == ("Jinghu District", "High-risk share")
    assert set(zh) == ALERT_KEYS | {"district_name", "measure_name"}
    json.dumps(zh)


# --- the web: the scheduled job, the API, restart ----------------------------------------


async def _alert_in_app(app: web.Application, clock: ManualClock, config: Config) -> EarlyWarning:
    """A history with one rise (and a real chat contact with words and a number in it), then
    the app's own job raising it."""
    await app[EARLY_WARNING_JOB].first_pass.wait()
    log = ContactLog(app[keys.DATABASE])
    await log.add("jinghu", 1)
    clock.advance(days=28, hours=12)
    await log.add("jinghu", 8)
    conversations = app[keys.CONVERSATIONS]
    contact, _token = await conversations.start_webchat("jinghu", "zh-CN")
    await conversations.caller_message(contact.id, WORDS)
    clock.advance(hours=12)
    raised = await app[EARLY_WARNING_JOB].run_once()
    assert [(a.district, a.measure, a.observed) for a in raised] == [("jinghu", "contacts", 9)]
    return raised[0]


async def _csrf(staff: Staff) -> str:
    """The session's CSRF token from a page every staff role may open."""
    page = await staff.get("/followups")
    token = re.search(r'name="csrf-token" content="([^"]+)"', await page.text())
    assert token
    return token.group(1)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COUNSELLOR, 403),
        (Role.COORDINATOR, 403),
        (Role.SUPERVISOR, 200),
        (Role.ADMIN, 200),
    ],
)
async def test_the_api_is_for_supervisors_and_admins(
    aiohttp_client: ClientFactory,
    client: TestClient[Any, Any],
    app: web.Application,
    clock: ManualClock,
    config: Config,
    role: Role,
    status: int,
) -> None:
    """Listing and acknowledging: supervisors and admins may, counsellors and coordinators
    get 403."""
    alert = await _alert_in_app(app, clock, config)
    staff = await login_factory(aiohttp_client, client)("someone", role, available=False)
    listing = await staff.get("/api/stats/warnings")
    assert listing.status == status
    staff.csrf = await _csrf(staff)
    acked = await staff.post(f"/api/stats/warnings/{alert.id}/acknowledge")
    assert acked.status == status
    if status == 200:
        assert [w["id"] for w in (await listing.json())["warnings"]] == [alert.id]
        body = await acked.json()
        assert body["acknowledged_by"] == staff.user_id
        assert body["district_name"] == "镜湖区"
        after = await (await staff.get("/api/stats/warnings")).json()
        assert after == {"warnings": []}


async def test_the_api_needs_a_session(
    client: TestClient[Any, Any], app: web.Application, clock: ManualClock, config: Config
) -> None:
    """No session: 401 for the list and for acknowledging."""
    alert = await _alert_in_app(app, clock, config)
    assert (await client.get("/api/stats/warnings")).status == 401
    assert (await client.post(f"/api/stats/warnings/{alert.id}/acknowledge")).status == 401


async def test_acknowledging_needs_the_csrf_token_and_a_real_alert(
    aiohttp_client: ClientFactory,
    client: TestClient[Any, Any],
    app: web.Application,
    clock: ManualClock,
    config: Config,
) -> None:
    """A POST without the page's token is refused; an unknown alert is 404."""
    alert = await _alert_in_app(app, clock, config)
    supervisor = await login_factory(aiohttp_client, client)("zhou", Role.SUPERVISOR)
    path = f"/api/stats/warnings/{alert.id}/acknowledge"
    assert (await supervisor.client.post(path)).status == 403
    missing = await supervisor.post("/api/stats/warnings/999999/acknowledge")
    assert missing.status == 404
    assert (await missing.json())["error"] == "warning_not_found"
    assert [a.id for a in await open_alerts(app[keys.DATABASE])] == [alert.id]


async def test_the_alert_json_holds_no_identifier_number_or_text(
    aiohttp_client: ClientFactory,
    client: TestClient[Any, Any],
    app: web.Application,
    clock: ManualClock,
    config: Config,
) -> None:
    """What supervisors receive, in the API and on the event bus, is aggregates only: no
    contact id, no phone number, no word anyone said."""
    async with app[keys.BUS].subscribe() as live:
        alert = await _alert_in_app(app, clock, config)
        published = [e for e in live.drain() if e.kind.startswith("stats.")]
    supervisor = await login_factory(aiohttp_client, client)("zhou", Role.SUPERVISOR)
    response = await supervisor.get("/api/stats/warnings?lang=en")
    text = await response.text()
    [shown] = json.loads(text)["warnings"]
    assert set(shown) == ALERT_KEYS | {"district_name", "measure_name"}
    assert shown["id"] == alert.id and shown["district_name"] == "Jinghu District"
    assert [e.data["alert_id"] for e in published] == [alert.id]
    for body in (text, json.dumps(published[0].data, ensure_ascii=False)):
        assert PHONE not in body and WORDS not in body
        assert "contact:" not in body and "contact_id" not in body
        assert not re.search(r"9000\d\d", body)


async def test_open_alerts_survive_a_restart(
    aiohttp_client: ClientFactory,
    client: TestClient[Any, Any],
    app: web.Application,
    clock: ManualClock,
    config: Config,
) -> None:
    """A new process on the same data dir lists the same open alert, and its check at start
    does not raise it a second time."""
    alert = await _alert_in_app(app, clock, config)
    await client.close()
    second = await aiohttp_client(create_app(config, clock=clock))
    again = second.server.app
    assert again is not None
    await again[EARLY_WARNING_JOB].first_pass.wait()
    supervisor = await login_factory(aiohttp_client, second)("zhou", Role.SUPERVISOR)
    listing = await (await supervisor.get("/api/stats/warnings")).json()
    assert [w["id"] for w in listing["warnings"]] == [alert.id]
    assert await open_alerts(again[keys.DATABASE]) == [alert]
