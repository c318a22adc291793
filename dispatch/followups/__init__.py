"""Follow-up of people at high risk: cases, their schedules, attempts, alarms, caring texts.

The days after a crisis contact are the most dangerous. A case opens from a wrap-up (with
the person's consent), from the incident registry or by hand; its schedule comes from its
risk (and the national danger grade under severe-mental-disorder management); every attempt
is recorded; a follow-up that falls due and is not attempted alarms its owner, then the
supervisors; a case closes only with a reason.
"""
