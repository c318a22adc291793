"""Held-out messages written for these tests (none from dev.jsonl), to check the rules generalise.

Each row: text, the least acceptable level, the most acceptable level. A band, not an exact
level, because a clinician could reasonably rate some of these one step apart.
"""

from __future__ import annotations

import pytest

from hotline.risk import RiskLevel
from hotline.triage import TextRiskScanner

HELD_OUT = [
    # imminent
    ("我刚吞了五十片安眠药", "imminent", "imminent"),
    ("我已经把药全吃下去了,头好晕", "imminent", "imminent"),
    ("我正站在楼顶边缘,风很大", "imminent", "imminent"),
    ("我女儿刚打电话说她正在割腕", "imminent", "imminent"),
    ("我现在就要从桥上跳下去", "imminent", "imminent"),
    ("我在铁轨上躺着,火车快来了", "imminent", "imminent"),
    ("煤气已经开了,窗户也关严了", "imminent", "imminent"),
    ("刚才用刀划了手腕,血流了一地", "imminent", "imminent"),
    ("我现在在阳台上,准备跳了", "imminent", "imminent"),
    ("I just took a whole bottle of sleeping pills", "imminent", "imminent"),
    ("I'm on the roof and I'm going to jump now", "imminent", "imminent"),
    ("My son just texted me that he's on the ledge", "imminent", "imminent"),
    ("The charcoal is burning and the windows are taped", "imminent", "imminent"),
    ("I swallowed a bottle of pills an hour ago", "imminent", "imminent"),
    ("I am cutting right now", "imminent", "imminent"),
    # high
    ("我去年吃过一次安眠药,被抢救回来了", "high", "high"),
    ("我买好了木炭,打算下周用", "high", "high"),
    ("我已经选好了日子", "high", "high"),
    ("我在网上搜了多少片安眠药能死", "high", "high"),
    ("我弟弟说他要去跳楼", "high", "imminent"),
    ("我有跳楼的计划", "high", "high"),
    ("I overdosed two years ago and ended up in hospital", "high", "high"),
    ("I bought a rope yesterday", "high", "high"),
    ("I've been googling painless ways to die", "high", "high"),
    ("I picked the date, it's this Friday", "high", "high"),
    ("I'm going to end it all tomorrow", "high", "imminent"),
    # moderate
    ("我真的不想活了", "moderate", "moderate"),
    ("有时候希望自己不存在", "moderate", "moderate"),
    ("活着对我来说没什么意义", "moderate", "moderate"),
    ("我觉得这个世界没有我也一样", "moderate", "moderate"),
    ("I want to die", "moderate", "moderate"),
    ("Sometimes I wish I could just disappear", "moderate", "moderate"),
    ("Nobody would miss me if I was gone", "moderate", "moderate"),
    ("I've thought about jumping off a bridge", "moderate", "moderate"),
    # low and none: negations and idioms must not raise an alarm
    ("我不想死,只是太累了", "none", "low"),
    ("我没有自杀的想法,就是失眠", "none", "low"),
    ("我从来没有割过腕", "none", "low"),
    ("我想死你了", "none", "low"),
    ("烦死了,老板又骂我", "none", "low"),
    ("最近想跳槽,很迷茫", "none", "low"),
    ("I don't want to die, I'm just exhausted", "none", "low"),
    ("I would never kill myself, I'm just really sad", "none", "low"),
    ("I've never attempted suicide", "none", "low"),
    ("My boss is going to kill me if I'm late", "none", "low"),
    ("I'd kill for a coffee", "none", "low"),
    ("I could die of embarrassment after that meeting", "none", "low"),
    ("我刚吃了两片止痛药", "none", "low"),
    ("医生给我开了安眠药", "none", "low"),
    ("我想了解自杀预防的讲座", "none", "low"),
    ("我已经吃了晚饭", "none", "low"),
    ("Is this the suicide hotline?", "none", "low"),
    ("I took my medication this morning", "none", "low"),
    ("I'm standing at the bus stop right now", "none", "low"),
]


@pytest.mark.parametrize(("text", "lowest", "highest"), HELD_OUT)
def test_held_out(scanner: TextRiskScanner, text: str, lowest: str, highest: str) -> None:
    """A message not used while writing the rules falls in its acceptable band."""
    level = scanner.scan(text).level
    assert RiskLevel(lowest).rank <= level.rank <= RiskLevel(highest).rank, (text, level)
