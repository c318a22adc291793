"""Escalation policies: whom to page, by which channels, and how long to wait for a human.

A policy is configuration, but a running dispatch must not change under a coordinator's
feet when someone edits the file, so the policy is copied onto the dispatch (as JSON) when
the dispatch starts and read back from there at every step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Target(StrEnum):
    """Who a step pages, resolved against the roster when the step runs."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    LEAD = "lead"
    CITY = "city"  # the city team's primary on call


class PageChannel(StrEnum):
    """How a page reaches a person. Every page is also shown on the coordinator's board."""

    SMS = "sms"
    VOICE = "voice"


@dataclass(frozen=True)
class Step:
    """One escalation step: page these targets by these channels, then wait."""

    targets: tuple[Target, ...]
    channels: tuple[PageChannel, ...]
    wait_seconds: int
    alarm: bool = False  # also sound an alarm on the coordinator's board

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored on a dispatch."""
        return {
            "targets": [t.value for t in self.targets],
            "channels": [c.value for c in self.channels],
            "wait_seconds": self.wait_seconds,
            "alarm": self.alarm,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        """Read a step written by `as_dict`."""
        return cls(
            tuple(Target(t) for t in data["targets"]),
            tuple(PageChannel(c) for c in data["channels"]),
            int(data["wait_seconds"]),
            bool(data["alarm"]),
        )


@dataclass(frozen=True)
class Policy:
    """Steps run in order; the whole sequence is repeated `repeat` more times."""

    id: str
    steps: tuple[Step, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("an escalation policy needs at least one step")

    @property
    def total_steps(self) -> int:
        """How many steps run before the escalation is exhausted."""
        return len(self.steps) * (self.repeat + 1)

    def step(self, index: int) -> Step:
        """The step at a running index (counting across repeats)."""
        return self.steps[index % len(self.steps)]

    def round_of(self, index: int) -> int:
        """Which repeat (0 = first pass) a running index belongs to."""
        return index // len(self.steps)

    def to_json(self) -> str:
        """The frozen copy stored on a dispatch."""
        return json.dumps(
            {"id": self.id, "repeat": self.repeat, "steps": [s.as_dict() for s in self.steps]},
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Policy:
        """Read the frozen copy back."""
        data = json.loads(text)
        return cls(
            str(data["id"]), tuple(Step.from_dict(s) for s in data["steps"]), int(data["repeat"])
        )
