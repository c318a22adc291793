"""Channels: how people reach the hotline, each turning outside events into contact events.

`webchat` is the public chat page and its websocket. Phone calls and SMS (through Twilio)
join here as channels of their own; each calls the same `Conversations` service, so the
queue, the console and the statistics never need to know which channel a person used.
"""
