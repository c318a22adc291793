"""Domain errors: each has a stable code and a message a person can act on.

The web layer maps them to HTTP answers in one middleware; the domain never knows HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request the hotline understood but cannot carry out as asked."""

    code = "error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(DomainError):
    """The thing asked for does not exist (or is not visible to the asker)."""

    code = "not_found"


class Forbidden(DomainError):
    """The asker's role or assignment does not allow this."""

    code = "forbidden"


class Conflict(DomainError):
    """The thing exists but is not in a state that allows this now."""

    code = "conflict"


class InvalidInput(DomainError):
    """Input that breaks a rule; `field` names the part to correct."""

    code = "invalid"

    def __init__(self, message: str, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message, code)
        self.field = field
