"""Supervisors' statistics: anonymised aggregates computed from the event log.

Only counts, shares and durations leave this package, each cell suppressed when it counts
fewer people than the configured threshold; no contact id, number, name or text does.
"""
