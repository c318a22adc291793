"""Risk levels: the first key of the queue order and of every wait target."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class RiskLevel(StrEnum):
    """How urgently a person needs help, from no known risk to danger right now."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    IMMINENT = "imminent"

    @property
    def rank(self) -> int:
        """Order for the queue: a higher rank is answered first."""
        return _RANK[self]

    @classmethod
    def parse(cls, value: str) -> RiskLevel:
        """Read a level from outside input, with an error that lists the valid words."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(level.value for level in cls)
            raise ValueError(f"unknown risk level {value!r}; expected one of: {valid}") from None


_RANK = {
    RiskLevel.NONE: 0,
    RiskLevel.LOW: 1,
    RiskLevel.MODERATE: 2,
    RiskLevel.HIGH: 3,
    RiskLevel.IMMINENT: 4,
}


class RiskSignal(Protocol):
    """What an automatic source concluded: a level, and the ids of the rules behind it."""

    @property
    def level(self) -> RiskLevel: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...


class TextScanner(Protocol):
    """Reads one message and says how much risk it shows (see hotline.triage)."""

    def scan(self, text: str) -> RiskSignal: ...
