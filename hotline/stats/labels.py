"""Names of the figures in both UI languages (zh-CN first), for the page, the monthly
report and the charts; district and referral names come from the config."""

from __future__ import annotations

from hotline.config import Config

LABELS: dict[str, tuple[str, str]] = {
    # outcomes and measures
    "offered": ("来电/来访", "Offered"),
    "answered": ("已接听", "Answered"),
    "abandoned": ("放弃（等待中离开）", "Abandoned"),
    "overflowed": ("转接备用线路", "Overflowed"),
    "waiting": ("仍在等待", "Still waiting"),
    "answer_rate": ("接听率", "Answer rate"),
    "asa_seconds": ("平均应答时间", "Average speed of answer"),
    "service_level_20": ("20 秒内接听", "Answered within 20 s"),
    "service_level_60": ("60 秒内接听", "Answered within 60 s"),
    "high_risk": ("高危（高/紧急）", "High risk (high/imminent)"),
    "repeat": ("重复来电者", "Repeat callers"),
    "referred": ("转介", "Referrals"),
    "dispatched": ("派遣", "Dispatches"),
    "incident_tagged": ("事件相关", "Incident-related"),
    "requested": ("派遣请求", "Dispatch requests"),
    "accepted": ("已接受", "Accepted"),
    "not_accepted": ("无人接受", "Not accepted"),
    "median_minutes": ("接受时间中位数（分钟）", "Median minutes to accept"),
    "p90_minutes": ("接受时间 90% 分位（分钟）", "90th percentile minutes to accept"),
    "due": ("应随访", "Due"),
    "done": ("按时完成", "Done on time"),
    "done_late": ("逾期后完成", "Done late"),
    "overdue": ("逾期未做", "Overdue"),
    "pending": ("未到期", "Pending"),
    "median": ("中位数", "Median"),
    "p90": ("90% 分位", "90th percentile"),
    # risk levels
    "imminent": ("紧急", "Imminent"),
    "high": ("高", "High"),
    "moderate": ("中", "Moderate"),
    "low": ("低", "Low"),
    "none": ("无", "None"),
    # channels
    "voice": ("电话", "Phone"),
    "sms": ("短信", "SMS"),
    "webchat": ("网络聊天", "Web chat"),
    "unknown": ("未知地区", "Unknown district"),
}


def label(code: str, lang: str, config: Config | None = None) -> str:
    """The name of a figure, level, channel, district or referral in a UI language."""
    if config is not None:
        option = config.district(code) or next(
            (r for r in config.wrap_up.referrals if r.id == code), None
        )
        if option is not None:
            return option.name(lang)
    names = LABELS.get(code)
    if names is None:
        return code
    return names[0] if lang.startswith("zh") else names[1]
