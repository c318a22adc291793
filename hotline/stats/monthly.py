"""The monthly report a hotline sends its supervising authority: calls received and
answered, answer rate, high-risk calls, repeat callers, referrals and dispatches, overall
and by channel and district, with the same suppression as the page.

The report is a list of plain tables (`ReportTable`), written out as Markdown for the file
and as HTML for the page, so both always say the same thing.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from typing import Any

from hotline.config import Config
from hotline.stats.figures import FOLLOW_UP_STATES, OUTCOMES
from hotline.stats.labels import label

SUMMARY_COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "overflowed",
    "high_risk",
    "repeat",
    "referred",
    "dispatched",
    "incident_tagged",
)
SUMMARY_RATES = (
    ("answer_rate", "%"),
    ("asa_seconds", " s"),
    ("service_level_20", "%"),
    ("service_level_60", "%"),
)


@dataclass(frozen=True)
class ReportTable:
    """One titled table of already formatted cells."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def parse_month(text: str) -> tuple[date, date]:
    """`2026-11` -> the first and last day of that month; a clear error otherwise."""
    try:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
    except ValueError:
        raise ValueError(f"month must look like 2026-11, got {text!r}") from None
    return first, date(year, month, calendar.monthrange(year, month)[1])


def hidden_text(lang: str) -> str:
    """What a suppressed count shows: not "<5", since a cell hidden to protect a small one
    may itself be large."""
    return "已隐藏" if _zh(lang) else "hidden"


def count_text(value: int | None, lang: str) -> str:
    """A count as shown: the number, or the hidden mark when it is suppressed."""
    return hidden_text(lang) if value is None else str(value)


def measure_text(value: float | None, unit: str) -> str:
    """A rate or duration as shown: with its unit, or a dash when it rests on too few."""
    if value is None:
        return "—"
    number = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return f"{number}{unit}"


def _zh(lang: str) -> bool:
    return lang.startswith("zh")


def _figure_value(zh: bool) -> tuple[str, str]:
    return ("指标", "数值") if zh else ("Figure", "Value")


def monthly_tables(figures: dict[str, Any], config: Config, lang: str) -> list[ReportTable]:
    """The report's tables from the figures of one month (see `figures.compute`)."""
    zh = _zh(lang)
    summary = figures["summary"]
    overview = [(label(name, lang), count_text(summary[name], lang)) for name in SUMMARY_COUNTS]
    overview += [(label(name, lang), measure_text(summary[name], u)) for name, u in SUMMARY_RATES]
    tables = [
        ReportTable("总体" if zh else "Overview", _figure_value(zh), tuple(overview)),
        ReportTable(
            "按渠道" if zh else "By channel",
            (("渠道", label("offered", lang)) if zh else ("Channel", label("offered", lang))),
            tuple(
                (label(code, lang), count_text(value, lang))
                for code, value in zip(
                    figures["channels"]["categories"], figures["channels"]["counts"], strict=True
                )
            ),
        ),
    ]
    districts = figures["districts"]
    columns = ("offered", *OUTCOMES[:3], "high_risk")
    tables.append(
        ReportTable(
            "按地区" if zh else "By district",
            ("地区" if zh else "District", *(label(c, lang) for c in columns)),
            tuple(
                (
                    label(code, lang, config),
                    count_text(districts["totals"][i], lang),
                    *(count_text(districts["series"][c][i], lang) for c in columns[1:]),
                )
                for i, code in enumerate(districts["categories"])
            ),
        )
    )
    referrals = figures["referrals"]
    tables.append(
        ReportTable(
            "转介" if zh else "Referrals",
            ("转介去向" if zh else "Referred to", "次数" if zh else "Count"),
            tuple(
                (label(code, lang, config), count_text(value, lang))
                for code, value in zip(referrals["categories"], referrals["counts"], strict=True)
            ),
        )
    )
    dispatch = figures["dispatch"]
    tables.append(
        ReportTable(
            "派遣" if zh else "Dispatches",
            _figure_value(zh),
            (
                (label("requested", lang), count_text(dispatch["requested"], lang)),
                (label("accepted", lang), count_text(dispatch["accepted"], lang)),
                (label("median_minutes", lang), measure_text(dispatch["median_minutes"], "")),
                (label("p90_minutes", lang), measure_text(dispatch["p90_minutes"], "")),
            ),
        )
    )
    follow_ups = figures["follow_ups"]
    tables.append(
        ReportTable(
            "高危随访" if zh else "Follow-ups of people at high risk",
            _figure_value(zh),
            tuple(
                (label(name, lang), count_text(follow_ups[name], lang))
                for name in ("due", *FOLLOW_UP_STATES)
            ),
        )
    )
    return tables


def report_title(config: Config, month: str, lang: str) -> str:
    """The report's heading: the hotline's name and the month."""
    if _zh(lang):
        return f"{config.name_zh} · {month} 月度报告"
    return f"{config.name_en} · monthly report {month}"


def suppression_note(threshold: int, lang: str) -> str:
    """The sentence every report carries on how small numbers are hidden."""
    if _zh(lang):
        return (
            f"为保护来电者，少于 {threshold} 的数字显示为“已隐藏”，并另隐藏必要的数字，"
            "使其无法由合计推算；“—”表示样本过少。数字均由事件日志汇总，不含任何个人信息。"
        )
    return (
        f"To protect callers, counts under {threshold} show as “hidden”, as do the further "
        "cells hidden so none can be worked out from the totals; “—” means too few to measure. "
        "All figures are aggregates of the event log and hold no personal data."
    )


def to_markdown(title: str, period: str, tables: list[ReportTable], note: str) -> str:
    """The report as the Markdown file sent on."""
    lines = [f"# {title}", "", period, ""]
    for table in tables:
        lines += [f"## {table.title}", ""]
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in table.rows]
        if not table.rows:
            lines.append("| " + " | ".join("—" for _ in table.columns) + " |")
        lines.append("")
    lines += [f"_{note}_", ""]
    return "\n".join(lines)


def _md(cell: str) -> str:
    return cell.replace("|", "\\|")
