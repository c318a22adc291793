"""Typed application keys: every shared object the handlers reach through the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from hotline.clock import Clock
from hotline.config import Config
from hotline.conversations import Conversations
from hotline.counsellors import Counsellors
from hotline.crypto import FieldCipher
from hotline.events import EventBus
from hotline.sessions import Sessions
from hotline.store.database import Database
from hotline.users import Users
from hotline.web.presence import PresenceWatch
from hotline.web.ratelimit import RateLimiter
from hotline.web.websockets import SocketRegistry

if TYPE_CHECKING:  # the channels import these keys; at run time the key needs no class
    from hotline.channels.sms import SmsChannel
    from hotline.channels.store_away import StoreAway
    from hotline.channels.twilio_api import TwilioGateway
    from hotline.channels.voice import VoiceChannel

CONFIG = web.AppKey("config", Config)
CLOCK = web.AppKey("clock", Clock)
BUS = web.AppKey("bus", EventBus)
DATABASE = web.AppKey("database", Database)
CIPHER = web.AppKey("cipher", FieldCipher)
USERS = web.AppKey("users", Users)
SESSIONS = web.AppKey("sessions", Sessions)
COUNSELLORS = web.AppKey("counsellors", Counsellors)
CONVERSATIONS = web.AppKey("conversations", Conversations)
CHAT_START_LIMITER = web.AppKey("chat_start_limiter", RateLimiter)
LOGIN_LIMITER = web.AppKey("login_limiter", RateLimiter)
CHAT_MESSAGE_LIMITER = web.AppKey("chat_message_limiter", RateLimiter)
SOCKETS = web.AppKey("sockets", SocketRegistry)
PRESENCE_WATCH = web.AppKey("presence_watch", PresenceWatch)
VOICE: web.AppKey[VoiceChannel] = web.AppKey("voice")
SMS: web.AppKey[SmsChannel] = web.AppKey("sms")
TWILIO: web.AppKey[TwilioGateway | None] = web.AppKey("twilio")
# Telephony steps kept on local disk while the store does not answer (hotline.spool).
STORE_AWAY: web.AppKey[StoreAway] = web.AppKey("store_away")

# A person's open follow-up cases by their keyed hash: each a dict with at least `id`,
# `pseudonym`, `risk`, `next_due_at` (iso or None) and `owner` (a label). The application
# sets it when follow-up cases are wired in (dispatch); the console shows [] without it.
CaseLookup = Callable[[str], Awaitable[list[dict[str, object]]]]
CASE_LOOKUP: web.AppKey[CaseLookup] = web.AppKey("case_lookup")

# Several gateway processes (hotline.cluster): None when `[redis] url` is empty.
if TYPE_CHECKING:
    from hotline.cluster.connection import Cluster
    from hotline.cluster.queue import QueueIndex
    from hotline.cluster.relay import EventRelay
    from hotline.cluster.ticks import TickClaims
    from hotline.web.console import ConsoleReads
CLUSTER: web.AppKey[Cluster | None] = web.AppKey("cluster")
QUEUE_INDEX: web.AppKey[QueueIndex | None] = web.AppKey("queue_index")
RELAY: web.AppKey[EventRelay | None] = web.AppKey("relay")
TICKS: web.AppKey[TickClaims | None] = web.AppKey("ticks")
# What every console reads after the same event, read once (hotline.web.console).
CONSOLE_READS: web.AppKey[ConsoleReads] = web.AppKey("console_reads")
