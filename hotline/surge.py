"""Surge mode: how the hotline behaves while a mass incident is live.

The incident side (`dispatch.incidents`) starts and ends it; the channels read it. While it
is on, callers hear an announcement and are asked whether the incident affected them, the
chat page shows the announcement and the same question, and a person who says yes is tagged
with the incident and starts at least at the plan's risk level, so affected people are
answered first. The hotline knows nothing of plans: only this row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline.clock import from_iso, to_iso
from hotline.risk import RiskLevel
from hotline.store.database import Database, Transaction

_COLUMNS = (
    "incident_id, ivr_announcement_zh, ivr_announcement_en, chat_announcement_zh,"
    " chat_announcement_en, affected_question_zh, affected_question_en, affected_min_risk,"
    " started_at"
)


@dataclass(frozen=True)
class SurgeMode:
    """The surge settings of one live incident (texts in both UI languages)."""

    incident_id: int
    ivr_announcement_zh: str
    ivr_announcement_en: str
    chat_announcement_zh: str
    chat_announcement_en: str
    affected_question_zh: str
    affected_question_en: str
    affected_min_risk: RiskLevel
    started_at: datetime | None = None

    def text(self, name: str, lang: str) -> str:
        """One of the texts in a language ('ivr_announcement', 'zh-CN' → the Chinese one)."""
        suffix = "en" if lang.startswith("en") else "zh"
        value: str = getattr(self, f"{name}_{suffix}")
        return value


async def start_surge(tx: Transaction, mode: SurgeMode) -> None:
    """Switch surge mode on for an incident, inside the declaring transaction."""
    await tx.execute(
        f"INSERT INTO surge_modes ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            mode.incident_id,
            mode.ivr_announcement_zh,
            mode.ivr_announcement_en,
            mode.chat_announcement_zh,
            mode.chat_announcement_en,
            mode.affected_question_zh,
            mode.affected_question_en,
            mode.affected_min_risk.value,
            to_iso(tx.clock.now()),
        ),
    )
    await tx.append_event(
        "surge.started",
        f"incident:{mode.incident_id}",
        "system",
        {"min_risk": mode.affected_min_risk.value},
    )


async def end_surge(tx: Transaction, incident_id: int) -> bool:
    """Switch surge mode off (stand-down); False if it was not on for that incident."""
    cursor = await tx.execute(
        "UPDATE surge_modes SET ended_at = ? WHERE incident_id = ? AND ended_at IS NULL",
        (to_iso(tx.clock.now()), incident_id),
    )
    if cursor.rowcount:
        await tx.append_event("surge.ended", f"incident:{incident_id}", "system", {})
    return bool(cursor.rowcount)


async def current_surge(db: Database | Transaction) -> SurgeMode | None:
    """The surge mode in force, if any."""
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM surge_modes WHERE ended_at IS NULL")
    if row is None:
        return None
    return SurgeMode(
        incident_id=row["incident_id"],
        ivr_announcement_zh=row["ivr_announcement_zh"],
        ivr_announcement_en=row["ivr_announcement_en"],
        chat_announcement_zh=row["chat_announcement_zh"],
        chat_announcement_en=row["chat_announcement_en"],
        affected_question_zh=row["affected_question_zh"],
        affected_question_en=row["affected_question_en"],
        affected_min_risk=RiskLevel(row["affected_min_risk"]),
        started_at=from_iso(row["started_at"]),
    )
