"""Mandarin rules: each row is a message, the level it must get, and a reason id prefix."""

from __future__ import annotations

import pytest

from hotline.risk import RiskLevel
from hotline.triage import TextRiskScanner

ZH_TABLE = [
    # happening now
    ("我刚吞了一整瓶安眠药", "imminent", "zh.act.overdose"),
    ("我已经喝下了百草枯", "imminent", "zh.act.overdose"),
    ("血一直流,止不住了", "imminent", "zh.act.cut"),
    ("炭已经烧起来了", "imminent", "zh.act.charcoal"),
    ("我站在楼顶上,风很大", "imminent", "zh.place.edge"),
    ("我马上就要跳下去了", "imminent", "zh.now.act"),
    ("永别了,谢谢你们照顾我", "imminent", "zh.farewell"),
    # third party: rated by what is happening to that person
    ("我同学刚刚说他正在割腕", "imminent", "zh."),
    ("我朋友说他要跳河", "high", "zh.intent.will"),
    # past vs now
    ("上周我试过割腕", "high", "zh.history.attempt"),
    ("去年吞过药,被抢救回来了", "high", "zh.history.attempt"),
    ("我已经割下去了,在流血", "imminent", "zh.act.cut"),
    # plans and means
    ("绳子我已经买好了", "high", "zh.means.saved"),
    ("我攒了两个月的安眠药", "high", "zh.means.saved"),
    ("遗书放在桌上了", "high", "zh.plan.will"),
    ("我打算下个月自杀", "high", "zh.plan.method"),
    # ideation
    ("我真的不想活了", "moderate", "zh.ideation"),
    ("我就是个拖累", "moderate", "zh.ideation"),
    ("有时候想从桥上跳下去", "moderate", "zh.ideation"),
    # negations
    ("我没有想死,就是心里难受", "low", "zh.distress"),
    ("我不会自杀的,放心", "none", ""),
    ("我从没想过轻生", "none", ""),
    # idioms and hyperbole
    ("今天热死了", "none", ""),
    ("笑死我了", "none", ""),
    ("饿死了,先去吃饭", "none", ""),
    ("我最近想跳槽", "none", ""),
    ("这个会议马上结束", "none", ""),
]


@pytest.mark.parametrize(("text", "level", "reason"), ZH_TABLE)
def test_zh_rules(scanner: TextRiskScanner, text: str, level: str, reason: str) -> None:
    """Each Mandarin message gets its level, for the stated reason."""
    assessment = scanner.scan(text)
    assert assessment.level is RiskLevel(level), assessment
    if reason:
        assert assessment.reasons[0].startswith(reason), assessment
    elif level == "none":
        assert assessment.reasons == ()
