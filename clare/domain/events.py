"""Domain events: past-tense facts, each a small frozen dataclass.

An event's body is the msgpack map of its fields. ``decode`` checks every field
against its declared type, because bodies also arrive from peers and a bad one
must be refused as data, never crash the projector.

Every event names the entity it concerns (``entity``): the writer stores it in
an indexed column so that one task's history can be read without a scan.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from clare.errors import ProtocolError


@dataclass(frozen=True)
class DomainEvent:
    kind: ClassVar[str] = ""
    #: The entity is ``entity_prefix`` + the value of the field ``entity_field``.
    entity_field: ClassVar[str] = ""
    entity_prefix: ClassVar[str] = ""

    @property
    def entity(self) -> str:
        return self.entity_prefix + str(getattr(self, self.entity_field))

    def to_body(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# --- projects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectCreated(DomainEvent):
    kind: ClassVar[str] = "ProjectCreated"
    project: str
    description: str = ""
    paths: dict[str, str] = field(default_factory=dict)  # machine_id -> repository path

    entity_field: ClassVar[str] = "project"
    entity_prefix: ClassVar[str] = "p:"


@dataclass(frozen=True)
class ProjectUpdated(DomainEvent):
    kind: ClassVar[str] = "ProjectUpdated"
    project: str
    description: str | None = None
    paths: dict[str, str] = field(default_factory=dict)  # set these hosts' paths

    entity_field: ClassVar[str] = "project"
    entity_prefix: ClassVar[str] = "p:"


# --- tasks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskCreated(DomainEvent):
    kind: ClassVar[str] = "TaskCreated"
    task: str
    project: str
    title: str
    body: str = ""
    priority: int = 0
    tags: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    author: str = ""

    entity_field: ClassVar[str] = "task"


@dataclass(frozen=True)
class TaskEdited(DomainEvent):
    kind: ClassVar[str] = "TaskEdited"
    task: str
    title: str | None = None
    body: str | None = None
    priority: int | None = None
    tags: tuple[str, ...] | None = None
    depends_on: tuple[str, ...] | None = None
    author: str = ""

    entity_field: ClassVar[str] = "task"


@dataclass(frozen=True)
class TaskStateChanged(DomainEvent):
    """``previous`` is the state the author saw: the fold uses it to spot races."""

    kind: ClassVar[str] = "TaskStateChanged"
    task: str
    state: str
    previous: str
    note: str = ""
    author: str = ""

    entity_field: ClassVar[str] = "task"


@dataclass(frozen=True)
class TaskAssigned(DomainEvent):
    """To a session, or to a host or group for a session there to claim.

    ``claimed`` marks a session taking the task itself (``clare pull --claim``);
    ``previous`` is the assignee the author saw, as ``kind:name`` or "".
    """

    kind: ClassVar[str] = "TaskAssigned"
    task: str
    assignee_kind: str  # "session" | "host" | "group"
    assignee: str
    previous: str = ""
    claimed: bool = False
    author: str = ""

    entity_field: ClassVar[str] = "task"


@dataclass(frozen=True)
class TaskUnassigned(DomainEvent):
    kind: ClassVar[str] = "TaskUnassigned"
    task: str
    previous: str = ""
    author: str = ""

    entity_field: ClassVar[str] = "task"


@dataclass(frozen=True)
class TaskNoted(DomainEvent):
    """An Update: a progress note on a task, by a person or an agent."""

    kind: ClassVar[str] = "TaskNoted"
    task: str
    text: str
    author: str = ""

    entity_field: ClassVar[str] = "task"


# --- hosts, groups, sessions ------------------------------------------------------------


@dataclass(frozen=True)
class HostNamed(DomainEvent):
    kind: ClassVar[str] = "HostNamed"
    machine_id: str
    name: str
    groups: tuple[str, ...] = ()

    entity_field: ClassVar[str] = "machine_id"
    entity_prefix: ClassVar[str] = "h:"


@dataclass(frozen=True)
class GroupChanged(DomainEvent):
    """A group's full member list after a change (sessions as ``session:ID``, hosts as
    ``host:NAME``); ``removed`` marks the group deleted."""

    kind: ClassVar[str] = "GroupChanged"
    group: str
    members: tuple[str, ...] = ()
    removed: bool = False

    entity_field: ClassVar[str] = "group"
    entity_prefix: ClassVar[str] = "g:"


@dataclass(frozen=True)
class SessionObserved(DomainEvent):
    """What a host saw of one agent session: a snapshot, last writer wins."""

    kind: ClassVar[str] = "SessionObserved"
    session: str
    host: str  # machine_id
    pid: int = 0
    name: str = ""
    cwd: str = ""
    project: str = ""
    branch: str = ""
    status: str = ""  # busy | idle | waiting | ended
    waiting_for: str = ""
    version: str = ""
    model: str = ""
    title: str = ""
    first_prompt: str = ""
    started_at: int = 0  # ms since the epoch
    last_activity: int = 0  # ms since the epoch
    tokens_in: int = 0
    tokens_out: int = 0
    tmux_pane: str = ""
    source: str = "claude-code"

    entity_field: ClassVar[str] = "session"
    entity_prefix: ClassVar[str] = "s:"


# --- registry ---------------------------------------------------------------------------

EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.kind: cls
    for cls in (
        ProjectCreated,
        ProjectUpdated,
        TaskCreated,
        TaskEdited,
        TaskStateChanged,
        TaskAssigned,
        TaskUnassigned,
        TaskNoted,
        HostNamed,
        GroupChanged,
        SessionObserved,
    )
}


def register(cls: type[DomainEvent]) -> type[DomainEvent]:
    """Add an event type defined elsewhere (sessions, messages) to the registry."""
    EVENT_TYPES[cls.kind] = cls
    return cls


def project_entity(name: str) -> str:
    return "p:" + name


Checker = Callable[[Any], bool]


def _checker(annotation: Any) -> Checker:
    """A function that tells whether a value fits ``annotation``, built once per field.

    Decoding runs for every event the projector folds, so the annotation is
    analysed here once, not on every value.
    """
    origin = typing.get_origin(annotation)
    if annotation is Any:
        return lambda value: True
    if origin in (types.UnionType, typing.Union):
        options = [_checker(arg) for arg in typing.get_args(annotation)]
        return lambda value: any(check(value) for check in options)
    if annotation is type(None):
        return lambda value: value is None
    if annotation in (bool, int, str):
        exact = annotation
        return lambda value: type(value) is exact
    if origin is tuple:
        item = _checker(typing.get_args(annotation)[0])
        return lambda value: type(value) in (list, tuple) and all(item(v) for v in value)
    if origin is dict:
        key_t, val_t = (_checker(arg) for arg in typing.get_args(annotation))
        return lambda value: (
            type(value) is dict and all(key_t(k) and val_t(v) for k, v in value.items())
        )
    raise TypeError(f"no checker for annotation {annotation!r}")  # a bug in an event class


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    check: Checker
    required: bool


_SPECS: dict[type[DomainEvent], tuple[_FieldSpec, ...]] = {}


def _specs(cls: type[DomainEvent]) -> tuple[_FieldSpec, ...]:
    specs = _SPECS.get(cls)
    if specs is None:
        hints = typing.get_type_hints(cls)
        specs = _SPECS[cls] = tuple(
            _FieldSpec(
                f.name,
                _checker(hints[f.name]),
                f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING,
            )
            for f in dataclasses.fields(cls)
        )
    return specs


def decode(kind: str, data: dict[str, Any]) -> DomainEvent:
    """Build the typed event from a body, refusing unknown kinds and wrong field types."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown event kind {kind!r}")
    values: dict[str, Any] = {}
    for spec in _specs(cls):
        if spec.name not in data:
            if spec.required:
                raise ProtocolError(f"{kind} body lacks {spec.name!r}")
            continue
        value = data[spec.name]
        if not spec.check(value):
            raise ProtocolError(f"{kind}.{spec.name} has the wrong type: {value!r:.80}")
        if type(value) is list:
            value = tuple(value)
        values[spec.name] = value
    return cls(**values)
