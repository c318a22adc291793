"""Mass incidents: emergency-plan templates, live incidents, the affected-person registry.

A coordinator declares an incident from a plan template (`config/plans/*.toml`): the named
teams are mobilised through dispatch, reserve counsellors are called in, a checklist starts
with deadlines, the hotline switches to surge mode, and stand-down writes the after-action
report.
"""
