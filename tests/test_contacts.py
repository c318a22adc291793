"""The contact state machine and the queue order, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import product

import pytest

from hotline.contacts import (
    TRANSITIONS,
    Channel,
    Contact,
    ContactState,
    IllegalTransition,
    check_transition,
    queue_key,
)
from hotline.risk import RiskLevel

S = ContactState
ALLOWED = {
    (S.QUEUED, S.OFFERED),
    (S.QUEUED, S.ABANDONED),
    (S.QUEUED, S.TRANSFERRED),
    (S.OFFERED, S.ACTIVE),
    (S.OFFERED, S.QUEUED),
    (S.OFFERED, S.ABANDONED),
    (S.OFFERED, S.TRANSFERRED),
    (S.ACTIVE, S.WRAP_UP),
    (S.ACTIVE, S.QUEUED),
    (S.ACTIVE, S.TRANSFERRED),
    (S.WRAP_UP, S.CLOSED),
}


@pytest.mark.parametrize(("current", "wanted"), list(product(ContactState, ContactState)))
def test_every_transition_is_allowed_or_rejected(
    current: ContactState, wanted: ContactState
) -> None:
    """Exactly the documented transitions pass; every other pair raises."""
    if (current, wanted) in ALLOWED:
        check_transition(1, current, wanted)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(1, current, wanted)


def test_terminal_states_have_no_way_out() -> None:
    """Closed, abandoned and transferred contacts never reopen."""
    assert not TRANSITIONS[S.CLOSED] | TRANSITIONS[S.ABANDONED] | TRANSITIONS[S.TRANSFERRED]


T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _contact(cid: int, risk: RiskLevel, waited_min: int, requeued: bool = False) -> Contact:
    return Contact(
        cid,
        Channel.WEBCHAT,
        S.QUEUED,
        risk,
        None,
        "zh-CN",
        T0 - timedelta(minutes=waited_min),
        requeued,
        None,
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("contacts", "expected_order"),
    [
        # risk beats time waited
        ([_contact(1, RiskLevel.LOW, 60), _contact(2, RiskLevel.HIGH, 1)], [2, 1]),
        # same risk: longest waiting first
        ([_contact(1, RiskLevel.MODERATE, 5), _contact(2, RiskLevel.MODERATE, 30)], [2, 1]),
        # a re-queued contact goes to the head of its own level, not above higher risk
        (
            [
                _contact(1, RiskLevel.LOW, 50),
                _contact(2, RiskLevel.LOW, 1, requeued=True),
                _contact(3, RiskLevel.IMMINENT, 0),
            ],
            [3, 2, 1],
        ),
        # all five levels
        ([_contact(i, level, 10) for i, level in enumerate(RiskLevel, start=1)], [5, 4, 3, 2, 1]),
        # equal risk and arrival: first in, first answered
        ([_contact(2, RiskLevel.NONE, 3), _contact(1, RiskLevel.NONE, 3)], [1, 2]),
    ],
)
def test_queue_order(contacts: list[Contact], expected_order: list[int]) -> None:
    """Risk first, then re-queued at the head, then time waited, then arrival."""
    assert [c.id for c in sorted(contacts, key=queue_key)] == expected_order
