"""The after-action report of an incident: what happened, how fast teams came, what was done.

Built from the store and the event log only, with aggregates and pseudonyms: no caller's
number, name or words, no registered person's name. Written as Markdown to
`<data dir>/reports/` at stand-down (the file the city's health commission receives) and
shown as a page.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dispatch.incidents.records import Incident
from hotline.clock import from_iso
from hotline.risk import RiskLevel
from hotline.store.database import Database

ACCEPTED = {"accepted", "en_route", "on_scene", "resolved"}
# Event kinds the timeline lists, with their words (others are details of these).
TIMELINE_KINDS = {
    "incident.declared": ("宣布启动应急预案", "Incident declared"),
    "surge.started": ("热线进入应急模式", "Hotline surge mode on"),
    "dispatch.accepted": ("队伍接受动员", "Team accepted mobilisation"),
    "dispatch.exhausted": ("动员无人接受", "Mobilisation unanswered"),
    "incident.reserve_called": ("召集后备咨询员", "Reserve counsellors called in"),
    "incident.reserve_answered": ("后备咨询员回复", "A reserve counsellor answered"),
    "incident.step_done": ("完成清单事项", "Checklist step done"),
    "incident.step_overdue": ("清单事项逾期", "Checklist step overdue"),
    "incident.sitrep_filed": ("报送工作简报", "Situation report filed"),
    "incident.sitrep_due": ("工作简报到期提醒", "Situation report due"),
    "incident.person_registered": ("登记受影响人员", "Affected person registered"),
    "incident.group_session": ("开展团体干预", "Group session held"),
    "incident.duty_started": ("人员开始值守", "Responder on duty"),
    "incident.rest_due": ("提醒人员轮休", "Rest reminder"),
    "incident.duty_ended": ("人员结束值守", "Responder off duty"),
    "surge.ended": ("热线退出应急模式", "Hotline surge mode off"),
    "incident.stood_down": ("宣布解除应急响应", "Incident stood down"),
}


async def build_report(db: Database, incident: Incident, zone: ZoneInfo) -> dict[str, Any]:
    """Everything the report says, as data (the page and the file render it)."""
    iid = incident.id
    # In the plan's order: each team's row is written just after its dispatch.
    teams = await db.fetchall(
        "SELECT t.team_id, d.id AS dispatch_id, d.state, d.requested_at, d.accepted_at,"
        " d.accepted_member FROM incident_teams t JOIN dispatches d ON d.id = t.dispatch_id"
        " WHERE t.incident_id = ? ORDER BY d.id",
        (iid,),
    )
    mobilisation = []
    for row in teams:
        minutes = None
        if row["accepted_at"]:
            delta = from_iso(row["accepted_at"]) - from_iso(row["requested_at"])
            minutes = round(delta.total_seconds() / 60, 1)
        mobilisation.append(
            {
                "team_id": row["team_id"],
                "state": row["state"],
                "paged_at": row["requested_at"],
                "accepted_at": row["accepted_at"],
                "minutes_to_accept": minutes,
                "member": row["accepted_member"],
            }
        )
    contacts = await db.fetchall(
        "SELECT risk, state, COUNT(*) AS n FROM contacts WHERE incident_id = ?"
        " GROUP BY risk, state",
        (iid,),
    )
    by_risk: Counter[str] = Counter()
    answered = 0
    for row in contacts:
        by_risk[row["risk"]] += row["n"]
        if row["state"] in ("active", "wrap_up", "closed"):
            answered += row["n"]
    people = await db.fetchall(
        "SELECT tier, exposures, risk, case_id FROM affected_people WHERE incident_id = ?", (iid,)
    )
    tiers: Counter[int] = Counter(p["tier"] for p in people)
    exposures: Counter[str] = Counter(e for p in people for e in json.loads(p["exposures"]))
    case_ids = [p["case_id"] for p in people if p["case_id"] is not None]
    open_cases = 0
    if case_ids:
        marks = ",".join("?" * len(case_ids))
        open_cases = int(
            await db.fetchval(
                f"SELECT COUNT(*) FROM followup_cases WHERE state = 'open' AND id IN ({marks})",
                case_ids,
            )
        )
    sessions = await db.fetchall(
        "SELECT kind, COUNT(*) AS n, SUM(participants) AS people FROM group_sessions"
        " WHERE incident_id = ? GROUP BY kind",
        (iid,),
    )
    checklist = await db.fetchall(
        "SELECT step_id, due_at, done_at FROM incident_checklist WHERE incident_id = ?"
        " ORDER BY due_at",
        (iid,),
    )
    titles = {s.id: (s.title_zh, s.title_en) for s in incident.plan.checklist}
    duty = await db.fetchall(
        "SELECT responder, started_at, ended_at FROM incident_duty WHERE incident_id = ?", (iid,)
    )
    end = incident.stood_down_at or db.clock.now()
    hours: dict[str, float] = {}
    for row in duty:
        stop = from_iso(row["ended_at"]) if row["ended_at"] else end
        spent = (stop - from_iso(row["started_at"])).total_seconds() / 3600
        hours[row["responder"]] = hours.get(row["responder"], 0.0) + spent
    dispatch_subjects = [f"dispatch:{m['dispatch_id']}" for m in teams]
    subjects = [f"incident:{iid}", *dispatch_subjects]
    marks = ",".join("?" * len(subjects))
    events = await db.fetchall(
        f"SELECT at, kind, actor, subject FROM events WHERE subject IN ({marks}) ORDER BY id",
        subjects,
    )
    timeline = [
        {
            "at": e["at"],
            "kind": e["kind"],
            "what_zh": TIMELINE_KINDS[e["kind"]][0],
            "what_en": TIMELINE_KINDS[e["kind"]][1],
            "actor": e["actor"],
        }
        for e in events
        if e["kind"] in TIMELINE_KINDS
    ]
    callins = await db.fetchall(
        "SELECT answer, COUNT(*) AS n FROM incident_callins WHERE incident_id = ? GROUP BY answer",
        (iid,),
    )
    called = {row["answer"] or "unanswered": row["n"] for row in callins}
    sitreps = int(
        await db.fetchval("SELECT COUNT(*) FROM incident_sitreps WHERE incident_id = ?", (iid,))
    )
    return {
        "incident_id": iid,
        "plan": {
            "id": incident.plan.id,
            "name_zh": incident.plan.name_zh,
            "name_en": incident.plan.name_en,
            "kind": incident.plan.kind.value,
        },
        "districts": list(incident.districts),
        "declared_at": incident.declared_at.isoformat(),
        "declared_by": incident.declared_by,
        "stood_down_at": incident.stood_down_at.isoformat() if incident.stood_down_at else None,
        "stood_down_by": incident.stood_down_by,
        "zone": str(zone),
        "timeline": timeline,
        "mobilisation": mobilisation,
        "teams_accepted": sum(1 for m in mobilisation if m["state"] in ACCEPTED),
        "teams_mobilised": len(mobilisation),
        "reserve_called": sum(called.values()),
        "reserve_coming": called.get("coming", 0),
        "reserve_cannot": called.get("cannot", 0),
        "contacts_by_risk": {level.value: by_risk.get(level.value, 0) for level in RiskLevel},
        "contacts_total": sum(by_risk.values()),
        "contacts_answered": answered,
        "people_by_tier": {str(t): tiers.get(t, 0) for t in range(1, 5)},
        "exposures": dict(sorted(exposures.items())),
        "people_total": len(people),
        "followups_opened": len(case_ids),
        "followups_open": open_cases,
        "group_sessions": [
            {"kind": s["kind"], "sessions": s["n"], "participants": s["people"]} for s in sessions
        ],
        "checklist": [
            {
                "step": c["step_id"],
                "title_zh": titles.get(c["step_id"], (c["step_id"], c["step_id"]))[0],
                "title_en": titles.get(c["step_id"], (c["step_id"], c["step_id"]))[1],
                "due_at": c["due_at"],
                "done_at": c["done_at"],
                "late": c["done_at"] is None or c["done_at"] > c["due_at"],
            }
            for c in checklist
        ],
        "sitreps": sitreps,
        "duty_hours": {k: round(v, 1) for k, v in sorted(hours.items())},
    }


def _local(value: str | None, zone: ZoneInfo) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def to_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown, Chinese first with English beside it."""
    zone = ZoneInfo(report["zone"])
    plan = report["plan"]
    lines = [
        f"# 事件处置总结报告 / After-action report — {plan['name_zh']} / {plan['name_en']}",
        "",
        f"- 事件编号 / Incident: {report['incident_id']}",
        f"- 涉及区县 / Districts: {', '.join(report['districts'])}",
        f"- 启动 / Declared: {_local(report['declared_at'], zone)} ({report['declared_by']})",
        f"- 解除 / Stood down: {_local(report['stood_down_at'], zone)}"
        f" ({report['stood_down_by'] or '—'})",
        "",
        "## 队伍动员 / Mobilisation",
        "",
        f"{report['teams_accepted']} / {report['teams_mobilised']} 支队伍接受 / teams accepted",
        "",
        "| 队伍 team | 呼叫 paged | 接受 accepted | 用时（分钟）minutes | 状态 state |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in report["mobilisation"]:
        minutes = "—" if m["minutes_to_accept"] is None else f"{m['minutes_to_accept']}"
        lines.append(
            f"| {m['team_id']} | {_local(m['paged_at'], zone)} | {_local(m['accepted_at'], zone)}"
            f" | {minutes} | {m['state']} |"
        )
    lines += [
        "",
        f"后备咨询员召集 {report['reserve_called']} 人：到岗 {report['reserve_coming']}，"
        f"无法到岗 {report['reserve_cannot']} / Reserve counsellors called in:"
        f" {report['reserve_called']}, coming {report['reserve_coming']},"
        f" cannot {report['reserve_cannot']}",
        "",
        "## 热线来电与来信 / Contacts tagged to the incident",
        "",
        f"共 {report['contacts_total']} 人次，已接听 {report['contacts_answered']} /"
        f" {report['contacts_total']} in all, {report['contacts_answered']} answered",
        "",
        "| 风险 risk | 人次 contacts |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in report["contacts_by_risk"].items()),
        "",
        "## 受影响人员登记 / Affected people registered",
        "",
        f"共 {report['people_total']} 人 / {report['people_total']} in all",
        "",
        "| 分级 tier | 人数 people |",
        "| --- | --- |",
        *(f"| {k} | {v} |" for k, v in report["people_by_tier"].items()),
        "",
        "暴露因素 / Exposure factors: "
        + (", ".join(f"{k} {v}" for k, v in report["exposures"].items()) or "—"),
        "",
        f"随访个案：已建立 {report['followups_opened']}，仍在随访 {report['followups_open']} /"
        f" Follow-up cases: {report['followups_opened']} opened,"
        f" {report['followups_open']} still open",
        "",
        "## 团体干预 / Group sessions",
        "",
    ]
    if report["group_sessions"]:
        lines += [
            f"- {s['kind']}: {s['sessions']} 场 sessions, {s['participants']} 人次 participants"
            for s in report["group_sessions"]
        ]
    else:
        lines.append("—")
    lines += [
        "",
        "## 工作清单 / Checklist",
        "",
        "| 事项 step | 期限 due | 完成 done |",
        "| --- | --- | --- |",
    ]
    for c in report["checklist"]:
        late = " ⚠" if c["late"] else ""
        lines.append(
            f"| {c['title_zh']} / {c['title_en']} | {_local(c['due_at'], zone)}"
            f" | {_local(c['done_at'], zone)}{late} |"
        )
    lines += [
        "",
        f"工作简报 / Situation reports: {report['sitreps']}",
        "",
        "## 人员值守时长 / Responders' hours on duty",
        "",
        *(f"- {k}: {v} h" for k, v in report["duty_hours"].items()),
        "",
        "## 时间线 / Timeline",
        "",
        *(
            f"- {_local(t['at'], zone)} {t['what_zh']} / {t['what_en']} ({t['actor']})"
            for t in report["timeline"]
        ),
        "",
    ]
    return "\n".join(lines)


def write_report(data_dir: Path, report: dict[str, Any]) -> Path:
    """Write the Markdown file under `<data dir>/reports/`; returns its path."""
    folder = data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"incident-{report['incident_id']}-{report['plan']['id']}.md"
    path.write_text(to_markdown(report), encoding="utf-8")
    return path
