"""A local stand-in for Twilio: the webhooks a call or text causes, and the REST API.

Tests and the demo use it instead of the internet. `TwilioSimulator` (driver.py) is the one
object to hold: it places calls and sends texts to the hotline's webhooks, runs the TwiML the
hotline answers with, and serves the REST endpoints (rest.py) the hotline calls through the
real `twilio` client. `parse_twiml` (twiml.py) reads TwiML into comparable dataclasses.
The account may hold more numbers than the hotline's (`add_number`), e.g. dispatch's paging
number, each with its own webhooks.
"""

# The hotline's own REST client (base-URL rewriting) is what tests point at the simulator.
from hotline.channels.twilio_api import RedirectingHttpClient as RedirectingAsyncHttpClient
from hotline.twilio_sim.driver import (
    DEFAULT_HOTLINE_NUMBER,
    ApplicationError,
    CallState,
    PhoneNumber,
    SimulatedCall,
    SimulatorError,
    TwilioSimulator,
    WebhookExchange,
)
from hotline.twilio_sim.rest import (
    RecordedRequest,
    SentMessage,
    TwilioRestSimulator,
)
from hotline.twilio_sim.twiml import (
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

__all__ = [
    "DEFAULT_HOTLINE_NUMBER",
    "ApplicationError",
    "CallState",
    "Dial",
    "DialTarget",
    "Enqueue",
    "Gather",
    "Hangup",
    "Leave",
    "Message",
    "Pause",
    "PhoneNumber",
    "Play",
    "RecordedRequest",
    "Redirect",
    "RedirectingAsyncHttpClient",
    "Reject",
    "Say",
    "SentMessage",
    "SimulatedCall",
    "SimulatorError",
    "TwiMLError",
    "TwilioRestSimulator",
    "TwilioSimulator",
    "Verb",
    "WebhookExchange",
    "parse_twiml",
]
