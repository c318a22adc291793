"""The signed link in a page's text: what the responder sees and how they answer.

GET never changes anything (messaging apps fetch links to preview them, and a preview must
not accept a dispatch); answering is a POST from the page itself. The page shows routing facts
only, and the coordinator's summary of the situation only to the person who accepted.
"""

from __future__ import annotations

from aiohttp import web

from dispatch.replies import ReplyAction
from dispatch.store import DispatchRow, PageRow
from dispatch.web import keys as dispatch_keys
from hotline.web import keys
from hotline.web.auth import origin_allowed
from hotline.web.pages import page_language, render

STRINGS = {
    "zh-CN": {
        "title": "调度 {code}",
        "heading": "调度 {code}",
        "label_team": "队伍",
        "label_district": "地点",
        "label_risk": "风险等级",
        "label_state": "状态",
        "label_minutes": "预计多少分钟到达",
        "label_reason": "拒绝原因（可不填）",
        "accept": "接受调度",
        "eta": "接受并告知到达时间",
        "decline": "拒绝",
        "other_lang_name": "English",
        "accepted": "已记录：您接受了本次调度。请尽快致电调度台 {callback}。",
        "declined": "已记录：您拒绝了本次调度。",
        "eta_done": "已记录：预计 {minutes} 分钟到达。",
        "finished": "本次调度已结束或已由他人接受，无需操作。",
        "yours": "您已接受本次调度。调度台：{callback}",
        "states": {
            "requested": "已请求",
            "paging": "呼叫中",
            "accepted": "已接受",
            "en_route": "在途中",
            "on_scene": "已到场",
            "resolved": "已结束",
            "cancelled": "已取消",
        },
    },
    "en": {
        "title": "Dispatch {code}",
        "heading": "Dispatch {code}",
        "label_team": "Team",
        "label_district": "Where",
        "label_risk": "Risk",
        "label_state": "State",
        "label_minutes": "Arriving in how many minutes",
        "label_reason": "Reason for declining (optional)",
        "accept": "Accept",
        "eta": "Accept with arrival time",
        "decline": "Decline",
        "other_lang_name": "中文",
        "accepted": "Recorded: you accepted this dispatch. Call the desk now: {callback}.",
        "declined": "Recorded: you declined this dispatch.",
        "eta_done": "Recorded: arriving in {minutes} minutes.",
        "finished": "This dispatch is over or someone else accepted it. Nothing to do.",
        "yours": "You accepted this dispatch. Desk: {callback}",
        "states": {
            "requested": "requested",
            "paging": "paging",
            "accepted": "accepted",
            "en_route": "en route",
            "on_scene": "on scene",
            "resolved": "resolved",
            "cancelled": "cancelled",
        },
    },
}


def _render(
    request: web.Request, page: PageRow, dispatch: DispatchRow, result: str, status: int = 200
) -> web.Response:
    config = request.app[keys.CONFIG]
    lang = page_language(request, config)
    words = STRINGS["en" if lang == "en" else "zh-CN"]
    desk = request.app[dispatch_keys.DESK]
    facts = desk.pager.facts(dispatch)
    team = desk.teams.get(dispatch.team_id)
    if lang == "en":
        district = config.district(dispatch.district_id) if dispatch.district_id else None
        facts = {
            "team": team.name_en if team else dispatch.team_id,
            "district": district.name_en if district else config.name_en,
            "risk": dispatch.risk.value,
        }
    callback = request.app[dispatch_keys.DISPATCH_CONFIG].paging.coordinator_number
    mine = (dispatch.accepted_team, dispatch.accepted_member) == (page.team_id, page.member_id)
    if not result and mine:
        result = str(words["yours"]).format(callback=callback)
    states = words["states"]
    assert isinstance(states, dict)
    response = render(
        "page_link.html",
        config,
        status=status,
        lang=lang,
        title=str(words["title"]).format(code=dispatch.code),
        heading=str(words["heading"]).format(code=dispatch.code),
        label_team=str(words["label_team"]),
        label_district=str(words["label_district"]),
        label_risk=str(words["label_risk"]),
        label_state=str(words["label_state"]),
        label_minutes=str(words["label_minutes"]),
        label_reason=str(words["label_reason"]),
        accept=str(words["accept"]),
        eta=str(words["eta"]),
        decline=str(words["decline"]),
        team=facts["team"],
        district=facts["district"],
        risk=facts["risk"],
        state=str(states[dispatch.state.value]),
        summary=dispatch.summary if mine else "",
        result=result,
        actions_hidden="" if dispatch.state.awaiting_acceptance else "hidden",
        other_lang="zh-CN" if lang == "en" else "en",
        other_lang_name=str(words["other_lang_name"]),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _found(request: web.Request) -> tuple[PageRow, DispatchRow]:
    found = await request.app[dispatch_keys.DESK].link_page(request.match_info["token"])
    if found is None:
        raise web.HTTPNotFound(text="This link is not valid or has expired. 链接无效或已过期。")
    return found


async def show(request: web.Request) -> web.Response:
    """The page's facts and its answer buttons; reading it changes nothing."""
    page, dispatch = await _found(request)
    return _render(request, page, dispatch, "")


async def answer(request: web.Request) -> web.Response:
    """Accept, give an ETA, or decline, from the page's own forms."""
    if not origin_allowed(request):
        raise web.HTTPForbidden(text="answer from the page itself")
    page, _ = await _found(request)
    form = await request.post()
    action_name = str(form.get("action", ""))
    try:
        action = ReplyAction(action_name)
    except ValueError:
        raise web.HTTPBadRequest(text="action must be accept, eta or decline") from None
    minutes_text = str(form.get("minutes", "")).strip()
    minutes = int(minutes_text) if minutes_text.isdigit() else None
    if action is ReplyAction.ETA and minutes is None:
        raise web.HTTPBadRequest(text="give the minutes")
    desk = request.app[dispatch_keys.DESK]
    outcome = await desk.link_respond(
        request.match_info["token"], action, reason=str(form.get("reason", "")), minutes=minutes
    )
    _, dispatch = await _found(request)
    lang = page_language(request, request.app[keys.CONFIG])
    words = STRINGS["en" if lang == "en" else "zh-CN"]
    key = {
        "accepted": "accepted",
        "declined": "declined",
        "eta": "eta_done",
        "finished": "finished",
    }
    callback = request.app[dispatch_keys.DISPATCH_CONFIG].paging.coordinator_number
    if outcome == "accepted" and minutes is not None:
        key["accepted"] = "eta_done"
    result = str(words[key[outcome]]).format(callback=callback, minutes=minutes)
    return _render(request, page, dispatch, result)


def setup_page_links(app: web.Application) -> None:
    """Register the link routes."""
    app.router.add_get("/p/{token}", show)
    app.router.add_post("/p/{token}", answer)
