"""TwiML parsing: each verb and attribute, Twilio's defaults, and what is refused."""

from __future__ import annotations

import pytest

from hotline.twilio_sim import (
    Dial,
    DialTarget,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Message,
    Pause,
    Play,
    Redirect,
    Reject,
    Say,
    TwiMLError,
    Verb,
    parse_twiml,
)

W = "http://hotline.test"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<Say>Hello</Say>", Say("Hello")),
        (
            "<Say language='zh-CN' voice='Polly.Zhiyu'>你好</Say>",
            Say("你好", "zh-CN", "Polly.Zhiyu"),
        ),
        ("<Say>\n   Two\n   lines  </Say>", Say("Two lines")),
        ("<Say>Hi <prosody rate='slow'>there</prosody></Say>", Say("Hi there")),
        (f"<Play>{W}/a.mp3</Play>", Play(f"{W}/a.mp3")),
        ("<Pause/>", Pause(1)),
        ("<Pause length='10'/>", Pause(10)),
        ("<Gather/>", Gather()),
        (
            f"<Gather numDigits='1' timeout='7' action='{W}/d' method='GET'>"
            "<Say>Press 9</Say><Pause length='2'/><Play>x.mp3</Play></Gather>",
            Gather(
                action=f"{W}/d",
                method="GET",
                num_digits=1,
                timeout=7,
                children=[Say("Press 9"), Pause(2), Play("x.mp3")],
            ),
        ),
        (
            f"<Gather action='{W}/key' actionOnEmptyResult='true'/>",
            Gather(action=f"{W}/key", action_on_empty_result=True),
        ),
        ("<Gather actionOnEmptyResult='False'/>", Gather()),
        (f"<Redirect>{W}/danger</Redirect>", Redirect(f"{W}/danger")),
        (f"<Redirect method='GET'>{W}/x</Redirect>", Redirect(f"{W}/x", "GET")),
        ("<Enqueue>hotline</Enqueue>", Enqueue("hotline")),
        (
            f"<Enqueue waitUrl='{W}/wait' waitUrlMethod='GET' action='{W}/dq' method='POST'>"
            "hotline</Enqueue>",
            Enqueue("hotline", f"{W}/wait", "GET", f"{W}/dq", "POST"),
        ),
        ("<Leave/>", Leave()),
        ("<Dial>+8613900000000</Dial>", Dial(targets=[DialTarget("number", "+8613900000000")])),
        (
            f"<Dial timeout='20' action='{W}/r?contact=4' callerId='+8655312345'>"
            f"<Client statusCallbackEvent='answered completed' statusCallback='{W}/ans'>"
            "counsellor-3</Client><Number>+8613900000000</Number></Dial>",
            Dial(
                action=f"{W}/r?contact=4",
                timeout=20,
                caller_id="+8655312345",
                targets=[
                    DialTarget("client", "counsellor-3", f"{W}/ans", ("answered", "completed")),
                    DialTarget("number", "+8613900000000"),
                ],
            ),
        ),
        (
            "<Dial><Client><Identity>counsellor-9</Identity></Client></Dial>",
            Dial(targets=[DialTarget("client", "counsellor-9")]),
        ),
        ("<Hangup/>", Hangup()),
        ("<Message>Thanks</Message>", Message("Thanks")),
        ("<Message><Body>Thanks</Body></Message>", Message("Thanks")),
        ("<Reject/>", Reject()),
        ("<Reject reason='busy'/>", Reject("busy")),
    ],
)
def test_each_verb_parses_to_its_dataclass(body: str, expected: Verb) -> None:
    """Every verb and attribute the contract uses reads into a comparable dataclass."""
    assert parse_twiml(f"<Response>{body}</Response>") == [expected]


def test_a_document_is_its_verbs_in_order() -> None:
    """A whole answer compares verb by verb, with the XML declaration allowed."""
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Say>Hi</Say>\n'
        "  <Gather numDigits='1'><Say>Press</Say></Gather>\n  <Redirect>/next</Redirect>\n"
        "</Response>"
    )
    assert parse_twiml(document.encode()) == [
        Say("Hi"),
        Gather(num_digits=1, children=[Say("Press")]),
        Redirect("/next"),
    ]


def test_empty_response_has_no_verbs() -> None:
    """<Response/> is a valid, empty answer."""
    assert parse_twiml("<Response/>") == []


@pytest.mark.parametrize(
    ("document", "verb"),
    [
        ("<Response><Record/></Response>", "Record"),
        ("<Response><Say>a</Say><Sms>b</Sms></Response>", "Sms"),
        ("<Response><Gather><Dial>1</Dial></Gather></Response>", "Dial"),
        ("<Response><Dial><Conference>x</Conference></Dial></Response>", "Conference"),
        ("<Response><Pause length='soon'/></Response>", "Pause"),
        ("<Response><Redirect/></Response>", "Redirect"),
        ("<Response><Dial/></Response>", "Dial"),
        ("<Response><Reject reason='rude'/></Response>", "Reject"),
        ("<Response><Gather method='PUT'/></Response>", "Gather"),
        ("<Response><Gather actionOnEmptyResult='yes'/></Response>", "Gather"),
        ("<Say>Hello</Say>", "Say"),
        ("<response/>", "response"),
    ],
)
def test_what_twilio_would_refuse_raises_naming_the_element(document: str, verb: str) -> None:
    """Unknown verbs, misplaced nouns, bad attributes and a wrong root raise TwiMLError."""
    with pytest.raises(TwiMLError) as raised:
        parse_twiml(document)
    assert raised.value.verb == verb


@pytest.mark.parametrize(
    "document",
    [
        "<Response><Say>unclosed</Response>",
        "",
        '<!DOCTYPE r [<!ENTITY a "aaaa">]><Response><Say>&a;</Say></Response>',
    ],
)
def test_malformed_xml_and_dtds_are_refused(document: str) -> None:
    """Not XML, or XML with a DTD (entity expansion), is not TwiML."""
    with pytest.raises(TwiMLError):
        parse_twiml(document)
