"""Several gateway processes as one hotline, through Redis.

With `[redis] url` set, every gateway process shares: the live events (each committed event
is relayed to the others, so a console on one process sees contacts and changes made on
another), the waiting queue's index (sorted sets taken from atomically by a Lua script),
liveness (which consoles and chat pages are connected anywhere, as keys that expire when a
process dies) and a claim on each timer tick (so one process at a time fires due timers).

The store stays the truth: every claim is still guarded there, and anything Redis holds can
be rebuilt from it. So when Redis goes away the gateways keep taking contacts through the
store alone, `/healthz` says so, and the index, the relay and liveness catch up when it
returns. Without `[redis] url` nothing here runs and one process keeps it all in-process.
"""
