"""Routes of the supervisors' statistics: `/stats`, `/stats/monthly`, their files and JSON.

Supervisors and admins only. Every figure comes from `hotline.stats` already suppressed;
the handlers parse the period and filters, and refuse bad ones with a message that says
what to change.
"""

from __future__ import annotations

from datetime import date, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from hotline.clock import from_iso
from hotline.errors import InvalidInput
from hotline.stats import queries
from hotline.stats.export import parse_dimensions, to_csv
from hotline.stats.figures import RISK_ORDER, UNKNOWN_DISTRICT, Filters, Period
from hotline.stats.monthly import (
    monthly_tables,
    parse_month,
    report_title,
    suppression_note,
)
from hotline.stats.warning import alerts_json, open_alerts
from hotline.users import Role
from hotline.web import keys
from hotline.web.auth import open_staff_page, require_staff
from hotline.web.pages import page_language, render
from hotline.web.stats_view import charts, filters_form, link, table_html, tiles, warnings_html

STATS_ROLES = (Role.SUPERVISOR, Role.ADMIN)
MAX_DAYS = 366
CHANNELS = ("voice", "sms", "webchat")
FORBIDDEN = {
    "zh-CN": "您的角色（{role}）不能查看统计。统计仅供督导和管理员查看。",
    "en": "Your role ({role}) cannot see the statistics; they are for supervisors and admins.",
}


def _today(app: web.Application) -> date:
    config = app[keys.CONFIG]
    return app[keys.CLOCK].now().astimezone(ZoneInfo(config.time_zone)).date()


def _date(query: dict[str, str], name: str) -> date:
    text = query.get(name, "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date like 2026-11-01, got {text!r}", code="invalid_date", field=name
        ) from None


def _period_and_filters(app: web.Application, query: dict[str, str]) -> tuple[Period, Filters]:
    """The period and filters of a request; unknown values are refused, not ignored."""
    config = app[keys.CONFIG]
    first, last = _date(query, "from"), _date(query, "to")
    if last < first:
        raise InvalidInput("the end date is before the start date", code="invalid_period")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(
            f"choose at most {MAX_DAYS} days (use the export for longer periods)",
            code="invalid_period",
        )
    channel = query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}", code="invalid_filter", field="channel")
    district = query.get("district") or None
    if district is not None and district != UNKNOWN_DISTRICT and config.district(district) is None:
        raise InvalidInput(
            f"unknown district {district!r}", code="unknown_district", field="district"
        )
    risk = query.get("risk") or None
    if risk is not None and risk not in RISK_ORDER:
        raise InvalidInput(f"unknown risk level {risk!r}", code="invalid_filter", field="risk")
    incident_text = query.get("incident") or None
    if incident_text is not None and not incident_text.isdigit():
        raise InvalidInput("incident must be a number", code="invalid_filter", field="incident")
    filters = Filters(
        channel=channel,
        district=district,
        risk=risk,
        incident=int(incident_text) if incident_text else None,
    )
    return Period(first, last, ZoneInfo(config.time_zone)), filters


async def figures_for(app: web.Application, period: Period, filters: Filters) -> dict[str, Any]:
    """The suppressed figures of a period and filters."""
    return await queries.figures_of(
        app[keys.DATABASE], app[keys.CONFIG], period, filters, app[keys.CLOCK].now()
    )


async def _incidents(app: web.Application, lang: str) -> list[tuple[int, str]]:
    """Incidents to filter by: number and declaration date (their descriptions are sealed
    and stay so)."""
    zone = ZoneInfo(app[keys.CONFIG].time_zone)
    rows = await app[keys.DATABASE].fetchall(
        "SELECT id, plan_id, declared_at FROM incidents ORDER BY id DESC LIMIT 100"
    )
    prefix = "事件" if lang.startswith("zh") else "Incident"
    result = []
    for row in rows:
        declared = from_iso(row["declared_at"]).astimezone(zone).date().isoformat()
        result.append((int(row["id"]), f"{prefix} {row['id']} · {row['plan_id']} · {declared}"))
    return result


def _quick_ranges(today: date, query: dict[str, str], lang: str) -> str:
    """Links to the periods a supervisor asks about most."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    zh = lang.startswith("zh")
    ranges = [
        ("today", "今天" if zh else "Today", today, today),
        ("week", "最近 7 天" if zh else "Last 7 days", today - timedelta(days=6), today),
        ("month", "本月" if zh else "This month", month_start, today),
        (
            "last-month",
            "上月" if zh else "Last month",
            last_month_end.replace(day=1),
            last_month_end,
        ),
    ]
    links = []
    for name, text, first, last in ranges:
        href = link("/stats", {**query, "from": first.isoformat(), "to": last.isoformat()})
        links.append(
            f'<a id="range-{name}" class="btn btn-secondary" href="{escape(href)}">'
            f"{escape(text)}</a>"
        )
    return "".join(links)


async def stats_page(request: web.Request) -> web.StreamResponse:
    """GET /stats: the figures of a period, as tiles, charts and a districts table."""
    page = await open_staff_page(request, STATS_ROLES, FORBIDDEN)
    if isinstance(page, web.Response):
        return page
    lang = page.lang
    app = request.app
    config = app[keys.CONFIG]
    today = _today(app)
    query = {k: v for k, v in request.query.items() if k != "lang"}
    query.setdefault("from", (today - timedelta(days=6)).isoformat())
    query.setdefault("to", today.isoformat())
    error = ""
    try:
        period, filters = _period_and_filters(app, query)
    except InvalidInput as exc:
        error = str(exc)
        query = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
        period, filters = _period_and_filters(app, query)
    figures = await figures_for(app, period, filters)
    district_table = monthly_tables(figures, config, lang)[2]
    other = "en" if lang.startswith("zh") else "zh-CN"
    month = period.first.strftime("%Y-%m")
    return render(
        "stats.html",
        config,
        **page.values(request),
        period_text=f"{period.first.isoformat()} – {period.last.isoformat()} ({config.time_zone})",
        threshold=str(config.statistics.suppression_threshold),
        error=error,
        lang_link=link("/stats", {**query, "lang": other}),
        lang_text="English" if other == "en" else "中文",
        export_link=link("/stats/export.csv", {**query, "by": "day,district,channel,risk"}),
        monthly_link=link("/stats/monthly", {"month": month, "lang": lang}),
        markup={
            "ranges": _quick_ranges(today, {**query, "lang": lang}, lang),
            "filters": filters_form(query, config, lang, await _incidents(app, lang)),
            "warnings": warnings_html(
                alerts_json(await open_alerts(app[keys.DATABASE]), config, lang),
                lang,
                config.time_zone,
            ),
            "tiles": tiles(figures, lang),
            "charts": charts(figures, config, lang),
            "district_table": table_html(district_table),
            "note": escape(suppression_note(config.statistics.suppression_threshold, lang)),
        },
    )


async def stats_json(request: web.Request) -> web.Response:
    """GET /api/stats?from=&to=[&channel=&district=&risk=&incident=]: the figures as JSON."""
    await require_staff(request, STATS_ROLES)
    period, filters = _period_and_filters(request.app, dict(request.query))
    return web.json_response(await figures_for(request.app, period, filters))


async def export_csv(request: web.Request) -> web.Response:
    """GET /stats/export.csv?from=&to=&by=: the export as a CSV download."""
    await require_staff(request, STATS_ROLES)
    query = dict(request.query)
    period, filters = _period_and_filters(request.app, query)
    try:
        by = parse_dimensions(query.get("by", "day"))
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_dimension", field="by") from None
    config = request.app[keys.CONFIG]
    rows = await queries.export_of(
        request.app[keys.DATABASE], config, period, by, request.app[keys.CLOCK].now(), filters
    )
    threshold = config.statistics.suppression_threshold
    name = f"hotline-stats-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return web.Response(
        text=to_csv(rows, by, threshold),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _month(request: web.Request) -> tuple[str, Period]:
    app = request.app
    default = (_today(app).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    text = request.query.get("month") or default
    try:
        return text, queries.month_period(app[keys.CONFIG], text)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_month", field="month") from None


async def monthly_page(request: web.Request) -> web.StreamResponse:
    """GET /stats/monthly?month=2026-11: the monthly report (last month by default)."""
    page = await open_staff_page(request, STATS_ROLES, FORBIDDEN)
    if isinstance(page, web.Response):
        return page
    lang = page.lang
    config = request.app[keys.CONFIG]
    month, period = _month(request)
    figures = await figures_for(request.app, period, Filters())
    tables = monthly_tables(figures, config, lang)
    other = "en" if lang.startswith("zh") else "zh-CN"
    first, last = parse_month(month)
    previous = (first - timedelta(days=1)).strftime("%Y-%m")
    following = (last + timedelta(days=1)).strftime("%Y-%m")
    return render(
        "stats_monthly.html",
        config,
        **page.values(request),
        title=report_title(config, month, lang),
        period_text=f"{period.first.isoformat()} – {period.last.isoformat()} ({config.time_zone})",
        lang_link=link("/stats/monthly", {"month": month, "lang": other}),
        lang_text="English" if other == "en" else "中文",
        download_link=link("/stats/monthly.md", {"month": month, "lang": lang}),
        previous_link=link("/stats/monthly", {"month": previous, "lang": lang}),
        next_link=link("/stats/monthly", {"month": following, "lang": lang}),
        stats_link=link(
            "/stats", {"from": first.isoformat(), "to": last.isoformat(), "lang": lang}
        ),
        markup={
            "tables": "\n".join(table_html(t) for t in tables),
            "note": escape(suppression_note(config.statistics.suppression_threshold, lang)),
        },
    )


async def monthly_file(request: web.Request) -> web.Response:
    """GET /stats/monthly.md?month=2026-11: the monthly report as the file to send on."""
    await require_staff(request, STATS_ROLES)
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    month, _ = _month(request)
    text = await queries.monthly_markdown(
        request.app[keys.DATABASE], config, month, lang, request.app[keys.CLOCK].now()
    )
    return web.Response(
        text=text,
        content_type="text/markdown",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="hotline-report-{month}.md"'},
    )


def setup_stats(app: web.Application) -> None:
    """Routes of the statistics pages, files and JSON."""
    app.router.add_get("/stats", stats_page)
    app.router.add_get("/stats/monthly", monthly_page)
    app.router.add_get("/stats/monthly.md", monthly_file)
    app.router.add_get("/stats/export.csv", export_csv)
    app.router.add_get("/api/stats", stats_json)
