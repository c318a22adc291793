"""The responder side: who is on call, and how they are reached.

Teams (the city crisis-intervention team and the district assistance teams) are built from
the city's config. Rosters, paging, escalation, incidents and follow-ups grow here; this
package may use the shared kernel of `hotline` (config, store, events, clock), never the
other way round.
"""
