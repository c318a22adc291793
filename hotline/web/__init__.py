"""The web gateway: the public chat, staff login and the counsellor console.

Handlers are thin: they parse and check input, call the domain services, and turn domain
errors into HTTP answers in one middleware (`errors.py`).
"""
