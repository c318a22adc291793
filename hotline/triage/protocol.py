"""The imminent-risk protocol: what a counsellor works through while staying with the person.

Active engagement / active rescue, as a checklist: ask where the person is; the supervisor
is alerted (the system does this itself the moment a conversation is imminent); emergency
services (110 police, 120 ambulance) contacted, or not and why; dispatch requested; help
confirmed arrived. Every step is recorded with its time, so the response can be reviewed.
"""

from __future__ import annotations

STEPS = (
    "location_asked",
    "supervisor_alerted",
    "emergency_services",
    "dispatch_requested",
    "help_arrived",
)
SERVICES = ("110", "120", "119", "none")
