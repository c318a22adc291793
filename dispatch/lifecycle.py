"""The life of a dispatch: requested, paging, accepted, en route, on scene, resolved or cancelled.

Each move is checked here, once: an illegal one (resolving a dispatch nobody accepted,
accepting a cancelled one) is an error the coordinator sees, never a silent no-op.
"""

from __future__ import annotations

from enum import StrEnum

from hotline.errors import Conflict


class DispatchState(StrEnum):
    """Where a dispatch is."""

    REQUESTED = "requested"
    PAGING = "paging"
    ACCEPTED = "accepted"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"

    @property
    def awaiting_acceptance(self) -> bool:
        """True while nobody has accepted: the escalation runs."""
        return self in (DispatchState.REQUESTED, DispatchState.PAGING)

    @property
    def closed(self) -> bool:
        """True once it is over."""
        return self in (DispatchState.RESOLVED, DispatchState.CANCELLED)


_ALLOWED: dict[DispatchState, frozenset[DispatchState]] = {
    DispatchState.REQUESTED: frozenset(
        {DispatchState.PAGING, DispatchState.ACCEPTED, DispatchState.CANCELLED}
    ),
    DispatchState.PAGING: frozenset({DispatchState.ACCEPTED, DispatchState.CANCELLED}),
    DispatchState.ACCEPTED: frozenset(
        {
            DispatchState.EN_ROUTE,
            DispatchState.ON_SCENE,
            DispatchState.RESOLVED,
            DispatchState.CANCELLED,
        }
    ),
    DispatchState.EN_ROUTE: frozenset(
        {DispatchState.ON_SCENE, DispatchState.RESOLVED, DispatchState.CANCELLED}
    ),
    DispatchState.ON_SCENE: frozenset({DispatchState.RESOLVED, DispatchState.CANCELLED}),
    DispatchState.RESOLVED: frozenset(),
    DispatchState.CANCELLED: frozenset(),
}


def check_transition(current: DispatchState, wanted: DispatchState) -> None:
    """Raise Conflict unless a dispatch in `current` may move to `wanted`."""
    if wanted not in _ALLOWED[current]:
        raise Conflict(
            f"a dispatch that is {current.value} cannot become {wanted.value}",
            code="dispatch_state",
        )
