"""Twilio webhooks of the paging number: replies by text, paging calls, delivery statuses.

These live apart from the crisis line's webhooks on purpose: a responder's "4821 1" sent to
the paging number must never become a crisis contact in the counsellors' queue, and a
person in crisis texting the hotline never reaches the dispatch desk. Every request's
signature is checked before anything is read.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from aiohttp import web
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from dispatch.web import keys as dispatch_keys
from hotline.channels.twilio_api import require, twiml, verified_form
from hotline.web import keys

log = structlog.get_logger(__name__)

LANGUAGE = "zh-CN"


def _page_id(request: web.Request) -> int:
    value = request.query.get("page", "")
    if not value.isdigit():
        raise web.HTTPBadRequest(text="missing page")
    return int(value)


async def _form(request: web.Request, *fields: str) -> Mapping[str, str]:
    form = await verified_form(request, request.app[keys.CONFIG].telephony)
    require(form, *fields)
    return form


def _texts(request: web.Request) -> Mapping[str, str]:
    return request.app[dispatch_keys.DISPATCH_CONFIG].paging.texts


async def sms_reply(request: web.Request) -> web.Response:
    """A responder's text: accept, decline (with reason) or ETA, answered in one message."""
    form = await _form(request, "From")
    answer = await request.app[dispatch_keys.DESK].sms_reply(form["From"], form.get("Body", ""))
    response = MessagingResponse()
    response.message(answer)
    return twiml(response)


async def voice_answered(request: web.Request) -> web.Response:
    """A paging call was picked up: a person hears the page and presses 1 or 2."""
    form = await _form(request, "CallSid")
    page_id = _page_id(request)
    desk = request.app[dispatch_keys.DESK]
    page = await desk.voice_answered(page_id, form.get("AnsweredBy"))
    response = VoiceResponse()
    if page is None:
        response.hangup()
        return twiml(response)
    dispatch = await desk.store.get(None, page.dispatch_id)
    assert dispatch is not None
    text = _texts(request)["page_voice"].format(code=dispatch.code, **desk.pager.facts(dispatch))
    action = f"{request.app[keys.CONFIG].telephony.public_url}/twilio/paging/gather?page={page_id}"
    gather = response.gather(
        num_digits=1,
        timeout=request.app[dispatch_keys.DISPATCH_CONFIG].paging.voice_gather_seconds,
        action=action,
        method="POST",
    )
    # Said twice inside the gather: someone woken by the call may miss the first time.
    gather.say(text, language=LANGUAGE)
    gather.say(text, language=LANGUAGE)
    response.redirect(action, method="POST")
    return twiml(response)


async def voice_keypress(request: web.Request) -> web.Response:
    """1 accepts, 2 declines; anything else (or nothing) changes nothing."""
    form = await _form(request, "CallSid")
    outcome = await request.app[dispatch_keys.DESK].voice_keypress(
        _page_id(request), form.get("Digits", "")
    )
    texts = _texts(request)
    said = {
        "accepted": texts["voice_accepted"],
        "declined": texts["voice_declined"],
        "no_input": texts["voice_no_input"],
        "finished": texts["reply_finished"].format(code="", callback=""),
    }[outcome]
    response = VoiceResponse()
    response.say(said, language=LANGUAGE)
    response.hangup()
    return twiml(response)


async def status(request: web.Request) -> web.Response:
    """A page's delivery status (texts: MessageStatus; calls: CallStatus and AnsweredBy)."""
    form = await verified_form(request, request.app[keys.CONFIG].telephony)
    state = form.get("MessageStatus") or form.get("CallStatus")
    if not state:
        raise web.HTTPBadRequest(text="missing MessageStatus or CallStatus")
    if "disclosure" in request.query:  # the caller's number sent to a responder: nothing to file
        log.info("disclosure_delivery", status=state)
        return web.Response(status=204)
    found = await request.app[dispatch_keys.DESK].delivery(
        _page_id(request), state, form.get("AnsweredBy")
    )
    if not found:
        raise web.HTTPNotFound(text="no such page")
    return web.Response(status=204)


def setup_paging_hooks(app: web.Application) -> None:
    """Register the paging number's webhooks."""
    app.router.add_post("/twilio/paging/sms", sms_reply)
    app.router.add_post("/twilio/paging/voice", voice_answered)
    app.router.add_post("/twilio/paging/gather", voice_keypress)
    app.router.add_post("/twilio/paging/status", status)
