"""Dispatch: requests to act on a host (start Claude Code for a task, stop a session),
their outcomes, and what each host offers. Events and folds; the deciders are in
``clare.domain.dispatch``.

A request is its own entity (``d:ID``, the id made by the client that asks), so
its whole life folds in one place: ``requested``, then on its target host
``accepted`` (the decision to act, recorded before acting), ``launched`` (Claude
Code took it, with its job id), ``started`` (the session appeared and holds the
task), or ``refused`` with why at any step before ``started``. Only the target
host writes the outcomes, through its own writer, so they come in one order.

Both kinds are in ``clare.domain.kinds``. A host's offer (``o:MACHINE``) says
whether it takes dispatch and how many dispatched sessions it runs at most; its
free capacity follows from the synced dispatches and sessions, so it costs no
event per change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from clare.domain.events import DomainEvent, register

if TYPE_CHECKING:
    from clare.domain.tasks import EventMeta

ACTIONS = ("start", "stop")
#: Outcomes after which a request is settled: nothing more happens to it.
SETTLED = frozenset({"started", "refused", "stopped"})


@dataclass(frozen=True)
class DispatchRequested(DomainEvent):
    """Someone asks ``host`` to start a session for ``task``, or to stop ``session``."""

    kind: ClassVar[str] = "DispatchRequested"
    request: str
    action: str  # start | stop
    host: str  # machine_id of the host that acts
    task: str = ""
    session: str = ""
    name: str = ""
    worktree: bool = True
    author: str = ""

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchAccepted(DomainEvent):
    """The target host decided to act: recorded before it acts, so it acts at most once."""

    kind: ClassVar[str] = "DispatchAccepted"
    request: str

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchLaunched(DomainEvent):
    """Claude Code took the session into its background daemon as ``job_id``."""

    kind: ClassVar[str] = "DispatchLaunched"
    request: str
    job_id: str = ""

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchStarted(DomainEvent):
    """The session appeared on its host; the task is assigned to it."""

    kind: ClassVar[str] = "DispatchStarted"
    request: str
    session: str

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchStopped(DomainEvent):
    """A stop request was carried out on the session's host."""

    kind: ClassVar[str] = "DispatchStopped"
    request: str
    how: str = ""

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchRefused(DomainEvent):
    """The target host did not act, or acting failed; ``reason`` says why."""

    kind: ClassVar[str] = "DispatchRefused"
    request: str
    reason: str

    entity_field: ClassVar[str] = "request"
    entity_prefix: ClassVar[str] = "r:"


@dataclass(frozen=True)
class DispatchOffered(DomainEvent):
    """What a host's owner allows: dispatch on or off, and at most how many sessions."""

    kind: ClassVar[str] = "DispatchOffered"
    machine_id: str
    enabled: bool
    max_sessions: int = 0
    permission_mode: str = ""

    entity_field: ClassVar[str] = "machine_id"
    entity_prefix: ClassVar[str] = "o:"


for _cls in (
    DispatchRequested,
    DispatchAccepted,
    DispatchLaunched,
    DispatchStarted,
    DispatchStopped,
    DispatchRefused,
    DispatchOffered,
):
    register(_cls)


@dataclass(frozen=True)
class Dispatch:
    id: str
    action: str
    host: str
    task: str = ""
    session: str = ""
    name: str = ""
    worktree: bool = True
    author: str = ""
    state: str = "requested"
    job_id: str = ""
    reason: str = ""
    requested_hlc: int = 0
    updated_hlc: int = 0
    last_key: tuple[int, str] = (0, "")


#: The state each outcome event moves a request to, and the states it may come from.
_MOVES: dict[type[DomainEvent], tuple[str, frozenset[str]]] = {
    DispatchAccepted: ("accepted", frozenset({"requested"})),
    DispatchLaunched: ("launched", frozenset({"accepted"})),
    DispatchStarted: ("started", frozenset({"accepted", "launched"})),
    DispatchStopped: ("stopped", frozenset({"accepted"})),
    DispatchRefused: ("refused", frozenset({"requested", "accepted", "launched"})),
}


def apply_dispatch(state: Dispatch | None, event: DomainEvent, meta: EventMeta) -> Dispatch | None:
    if isinstance(event, DispatchRequested):
        if state is not None:
            return state  # one id, one request: a repeat changes nothing
        return Dispatch(
            id=event.request, action=event.action, host=event.host, task=event.task,
            session=event.session, name=event.name, worktree=event.worktree,
            author=event.author, requested_hlc=meta.hlc, updated_hlc=meta.hlc, last_key=meta.key,
        )  # fmt: skip
    if state is None:
        return None  # its request has not arrived yet: refolded when it does
    move = _MOVES.get(type(event))
    if move is None or state.state not in move[1]:
        return replace(state, last_key=meta.key)
    changes: dict[str, object] = {"state": move[0], "updated_hlc": meta.hlc, "last_key": meta.key}
    if isinstance(event, DispatchLaunched):
        changes["job_id"] = event.job_id
    elif isinstance(event, DispatchStarted):
        changes["session"] = event.session
    elif isinstance(event, DispatchRefused):
        changes["reason"] = event.reason
    elif isinstance(event, DispatchStopped):
        changes["reason"] = event.how
    return replace(state, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Offer:
    machine_id: str
    enabled: bool
    max_sessions: int = 0
    permission_mode: str = ""
    last_key: tuple[int, str] = (0, "")


def apply_offer(state: Offer | None, event: DomainEvent, meta: EventMeta) -> Offer | None:
    if isinstance(event, DispatchOffered):
        return Offer(
            event.machine_id, event.enabled, event.max_sessions, event.permission_mode, meta.key
        )
    return state
