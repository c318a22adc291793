"""The statistics pages' markup: summary tiles, server-drawn charts and tables.

Built here, on the server, from the suppressed figures only, with every piece of text
escaped, so the page needs no script and no CDN, reads the same in any browser, and can
never show more than the figures hold. The language is chosen per request (`?lang=`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from hotline.clock import from_iso
from hotline.config import Config
from hotline.stats.charts import Series, bar_chart
from hotline.stats.figures import FOLLOW_UP_STATES, OUTCOMES, RISK_ORDER
from hotline.stats.labels import label
from hotline.stats.monthly import (
    SUMMARY_RATES,
    ReportTable,
    count_text,
    hidden_text,
    measure_text,
)

TILE_COUNTS = ("offered", "answered", "abandoned", "high_risk", "repeat", "dispatched")


def _zh(lang: str) -> bool:
    return lang.startswith("zh")


def _t(lang: str, zh: str, en: str) -> str:
    return zh if _zh(lang) else en


def tiles(figures: dict[str, Any], lang: str) -> str:
    """The headline numbers, large, each with its name under it."""
    summary = figures["summary"]
    items = [(name, count_text(summary[name], lang)) for name in TILE_COUNTS]
    items += [(name, measure_text(summary[name], unit)) for name, unit in SUMMARY_RATES]
    return "\n".join(
        f'<div class="tile" data-figure="{escape(name)}"><span class="tile-value">'
        f'{escape(value)}</span><span class="tile-name">{escape(label(name, lang))}</span></div>'
        for name, value in items
    )


def _mmdd(day: str) -> str:
    return day[5:]


def charts(figures: dict[str, Any], config: Config, lang: str) -> str:
    """Every chart of the page, each in a figure with its caption."""

    def draw(title: str, categories: Sequence[str], series: Sequence[Series], **opts: Any) -> str:
        return bar_chart(
            title,
            categories,
            series,
            suppressed_label=hidden_text(lang),
            empty_label=_t(lang, "此期间没有数据", "no data in this period"),
            **opts,
        )
    by_day, by_hour = figures["by_day"], figures["by_hour"]
    outcomes = [o for o in OUTCOMES if o != "waiting" or any(by_day["series"]["waiting"])]

    def stacked(table: dict[str, Any], names: Sequence[str]) -> list[Series]:
        return [Series(label(n, lang), tuple(table["series"][n])) for n in names]

    districts = figures["districts"]
    district_names = [label(code, lang, config) for code in districts["categories"]]
    waits = figures["wait_by_risk"]
    dispatch = figures["dispatch"]["by_district"]
    # Districts with no dispatch have no time to accept: left out, not drawn as hidden.
    dispatched = [c for c in districts["categories"] if dispatch[c]["requested"] != 0]
    follow_ups = figures["follow_ups"]["by_district"]
    drawn = [
        (
            "per-day",
            draw(
                _t(lang, "每日来电/来访（按结果）", "Contacts per day, by outcome"),
                [_mmdd(d) for d in by_day["categories"]],
                stacked(by_day, outcomes),
                stacked=True,
            ),
        ),
        (
            "per-hour",
            draw(
                _t(lang, "各时段来电/来访（按到达时间）", "Contacts by hour of arrival"),
                by_hour["categories"],
                stacked(by_hour, outcomes),
                stacked=True,
            ),
        ),
        (
            "rates",
            draw(
                _t(lang, "每日接听率与 20 秒服务水平", "Answer rate and 20 s service level"),
                [_mmdd(d) for d in by_day["categories"]],
                [
                    Series(label("answer_rate", lang), tuple(by_day["answer_rate"])),
                    Series(label("service_level_20", lang), tuple(by_day["service_level_20"])),
                ],
                unit="%",
                max_value=100,
            ),
        ),
        (
            "wait-by-risk",
            draw(
                _t(lang, "各风险等级等待时间（秒）", "Wait to answer by risk level (seconds)"),
                [label(row["risk"], lang) for row in waits],
                [
                    Series(label("median", lang), tuple(row["median"] for row in waits)),
                    Series(label("p90", lang), tuple(row["p90"] for row in waits)),
                ],
                unit=" s",
                horizontal=True,
            ),
        ),
        (
            "risk-mix",
            draw(
                _t(lang, "风险构成（最终评估）", "Risk mix (final assessment)"),
                [label(level, lang) for level in RISK_ORDER],
                [Series(label("offered", lang), tuple(figures["risk_mix"]["counts"]))],
                horizontal=True,
            ),
        ),
        (
            "districts",
            draw(
                _t(lang, "各地区来电/来访（按结果）", "Contacts by district, by outcome"),
                district_names,
                stacked(districts, outcomes),
                stacked=True,
                horizontal=True,
            ),
        ),
        (
            "districts-high-risk",
            draw(
                _t(lang, "各地区高危来电/来访", "High-risk contacts by district"),
                district_names,
                [Series(label("high_risk", lang), tuple(districts["series"]["high_risk"]))],
                horizontal=True,
            ),
        ),
        (
            "dispatch",
            draw(
                _t(lang, "派遣接受时间（分钟，按地区）", "Minutes to accept a dispatch"),
                [label(code, lang, config) for code in dispatched],
                [
                    Series(
                        label("median", lang),
                        tuple(dispatch[c]["median_minutes"] for c in dispatched),
                    ),
                    Series(
                        label("p90", lang),
                        tuple(dispatch[c]["p90_minutes"] for c in dispatched),
                    ),
                ],
                unit=" min",
                horizontal=True,
            ),
        ),
        (
            "follow-ups",
            draw(
                _t(lang, "高危随访：到期与完成（按地区）", "Follow-ups due and done, by district"),
                district_names,
                stacked(follow_ups, FOLLOW_UP_STATES),
                stacked=True,
                horizontal=True,
            ),
        ),
    ]
    return "\n".join(
        f'<figure class="chart-box" id="chart-{name}">{svg}</figure>' for name, svg in drawn
    )


def warning_text(alert: dict[str, Any], lang: str, zone: str) -> str:
    """One early-warning alert in a sentence: district, measure, how far above its
    baseline, since when, and the p-value (aggregates only)."""
    since = from_iso(alert["window_start"]).astimezone(ZoneInfo(zone))
    if alert["measure"] == "high_risk_share":
        share = 100 * (alert["baseline_share"] or 0)
        what = _t(
            lang,
            f"高危占比 {alert['observed']}/{alert['window_total']}（基线 {share:.1f}%）",
            f"high-risk share {alert['observed']}/{alert['window_total']}"
            f" (baseline {share:.1f}%)",
        )
    else:
        what = _t(
            lang,
            f"{alert['observed']} 次（预期约 {alert['expected']:.1f}，{alert['ratio']} 倍）",
            f"{alert['observed']} (about {alert['expected']:.1f} expected, {alert['ratio']}×)",
        )
    return _t(
        lang,
        f"预警 · {alert['district_name']} · {alert['measure_name']}：{what}，"
        f"自 {since:%m-%d %H:%M} 起；p = {alert['p_value']:.2g}",
        f"Early warning · {alert['district_name']} · {alert['measure_name']}: {what} "
        f"since {since:%m-%d %H:%M}; p = {alert['p_value']:.2g}",
    )


def warnings_html(alerts: Sequence[dict[str, Any]], lang: str, zone: str) -> str:
    """Open early-warning alerts: which district, what rose, by how much, and how unlikely
    that is by chance (aggregates only), each with a button to mark it seen."""
    if not alerts:
        calm = _t(
            lang,
            "早期预警：各地区均无超出随机波动的上升。",
            "Early warning: no district shows a rise beyond chance.",
        )
        return (
            f'<section id="warnings" class="warnings"><p class="stats-note">{escape(calm)}</p>'
            "</section>"
        )
    items = []
    for alert in alerts:
        text = warning_text(alert, lang, zone)
        items.append(
            f'<li class="warning-item" data-warning="{int(alert["id"])}">{escape(text)} '
            f'<button class="btn btn-secondary acknowledge" type="button" '
            f'data-warning="{int(alert["id"])}">{escape(_t(lang, "已知悉", "Seen"))}</button></li>'
        )
    return (
        f'<section id="warnings" class="warnings" role="alert"><h2>'
        f"{escape(_t(lang, '早期预警', 'Early warnings'))}</h2>"
        f'<ul class="warning-list">{"".join(items)}</ul></section>'
    )


def table_html(table: ReportTable) -> str:
    """One report table as an accessible HTML table (numbers right-aligned by CSS)."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in table.columns)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(row[0])}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in table.rows
    )
    return (
        f'<section class="panel report-table"><h2>{escape(table.title)}</h2>'
        f'<table class="figures"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        "</section>"
    )


def _options(
    name: str,
    chosen: str | None,
    choices: Sequence[tuple[str, str]],
    everything: str,
) -> str:
    opts = [f'<option value="">{escape(everything)}</option>']
    for value, text in choices:
        selected = " selected" if value == chosen else ""
        opts.append(f'<option value="{escape(value)}"{selected}>{escape(text)}</option>')
    return f'<select id="f-{name}" name="{name}">{"".join(opts)}</select>'


def filters_form(
    query: dict[str, str],
    config: Config,
    lang: str,
    incidents: Sequence[tuple[int, str]],
) -> str:
    """The period and filter form (GET, so a view can be bookmarked and shared)."""
    every = _t(lang, "全部", "All")
    fields = [
        (
            "from",
            _t(lang, "开始日期", "From"),
            f'<input id="f-from" name="from" type="date" required value="{escape(query["from"])}">',
        ),
        (
            "to",
            _t(lang, "结束日期", "To"),
            f'<input id="f-to" name="to" type="date" required value="{escape(query["to"])}">',
        ),
        (
            "channel",
            _t(lang, "渠道", "Channel"),
            _options(
                "channel",
                query.get("channel"),
                [(c, label(c, lang)) for c in ("voice", "sms", "webchat")],
                every,
            ),
        ),
        (
            "district",
            _t(lang, "地区", "District"),
            _options(
                "district",
                query.get("district"),
                [(d.id, d.name(lang)) for d in config.districts]
                + [("unknown", label("unknown", lang))],
                every,
            ),
        ),
        (
            "risk",
            _t(lang, "风险（最终）", "Risk (final)"),
            _options(
                "risk", query.get("risk"), [(r, label(r, lang)) for r in RISK_ORDER], every
            ),
        ),
        (
            "incident",
            _t(lang, "突发事件", "Incident"),
            _options("incident", query.get("incident"), [(str(i), t) for i, t in incidents], every),
        ),
    ]
    inputs = "".join(
        f'<div class="field"><label for="f-{name}">{escape(text)}</label>{control}</div>'
        for name, text, control in fields
    )
    return (
        f'<form id="stats-filters" class="panel stats-filters" method="get" action="/stats">'
        f'<input type="hidden" name="lang" value="{escape(lang)}">{inputs}'
        f'<div class="field field-submit"><button id="apply" class="btn btn-primary" '
        f'type="submit">{escape(_t(lang, "更新", "Update"))} <kbd>Enter</kbd></button></div>'
        "</form>"
    )


def link(path: str, query: dict[str, str]) -> str:
    """A path with a query string (empty values left out), for links that keep the view."""
    kept = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path
