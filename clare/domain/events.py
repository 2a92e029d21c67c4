"""Domain events: past-tense facts, each a small frozen dataclass.

An event's body is the msgpack map of its fields. ``decode`` checks every field
against its declared type and bounds (``MAX_INT``, ``MAX_TEXT_CHARS``,
``MAX_ITEMS``), because bodies also arrive from peers and a bad one must be
refused as data, never crash the projector: an integer of 2**63 or more once
passed the type check and then failed every write of it to SQLite.

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

from clare.core.errors import ProtocolError

#: Integers an event may carry: SQLite's INTEGER, the column every one of them lands in.
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1
#: The longest text field an event may carry. Commands allow at most 64 Ki characters
#: (``command.MAX_TEXT``); this leaves room for a newer peer without letting one event
#: hold the projector's memory.
MAX_TEXT_CHARS = 256 * 1024
#: The most items a list or map field may hold (commands allow 100 to 1,000).
MAX_ITEMS = 10_000


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
        body = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            body[name] = _plain(value) if isinstance(value, tuple) else value
        return body


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # ``dataclasses.fields`` filters the class's fields on every call; the
    # projector writes a session's snapshot body for every change it folds.
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


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
    #: Whether a task a session finishes goes to review first (None: unchanged).
    review: bool | None = None

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
    #: The title its author saw when it changes the title: the fold spots a race by it.
    previous_title: str | None = None

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
    status: str = ""  # busy | shell | idle | waiting | ended
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
    # How the session runs: Claude Code's session-file ``kind`` (interactive, bg), and
    # for a background session the job id that ``claude attach`` takes.
    session_kind: str = ""
    job_id: str = ""
    #: Claude Code's permission mode (default, acceptEdits, plan, bypassPermissions ...).
    permission_mode: str = ""
    #: Tokens so far by model: (input, output, cache writes, cache reads, of the cache
    #: writes those kept for an hour), each message counted once. See clare.domain.cost.
    usage: dict[str, tuple[int, ...]] = field(default_factory=dict)

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
    if annotation is bool:
        return lambda value: type(value) is bool
    if annotation is int:
        return lambda value: type(value) is int and MIN_INT <= value <= MAX_INT
    if annotation is str:
        return lambda value: type(value) is str and len(value) <= MAX_TEXT_CHARS
    if origin is tuple:
        item = _checker(typing.get_args(annotation)[0])
        return lambda value: (
            type(value) in (list, tuple) and len(value) <= MAX_ITEMS and all(item(v) for v in value)
        )
    if origin is dict:
        key_t, val_t = (_checker(arg) for arg in typing.get_args(annotation))
        return lambda value: (
            type(value) is dict
            and len(value) <= MAX_ITEMS
            and all(key_t(k) and val_t(v) for k, v in value.items())
        )
    raise TypeError(f"no checker for annotation {annotation!r}")  # a bug in an event class


_MISSING: Any = object()


def _compile_decoder(cls: type[DomainEvent]) -> Callable[[dict[str, Any]], DomainEvent]:
    """A function that checks a body against ``cls``'s fields and builds the event.

    Decoding runs for every event a projector folds or a rebuild reads, and a
    loop over field specs calling a checker per value, then the frozen
    dataclass ``__init__`` (one ``object.__setattr__`` per field), cost most of
    a rebuild. So, as ``dataclasses`` does for ``__init__``, the checks of each
    class are written out once as straight-line code: exact type tests inline
    for plain fields, a checker from ``_checker`` for the rest. Once every field
    is checked, the instance's ``__dict__`` is filled in one step: that is all
    the generated ``__init__`` would do for these classes (no ``__post_init__``,
    no slots), which the compiler checks before taking this path.
    """
    kind = cls.kind
    hints = typing.get_type_hints(cls)
    fast = not hasattr(cls, "__post_init__") and "__slots__" not in cls.__dict__
    env: dict[str, Any] = {
        "_M": _MISSING,
        "_cls": cls,
        "_new": object.__new__,
        "_lacks": _lacks,
        "_wrong": _wrong,
        "_tuple": tuple,
        "_list": list,
        "_len": len,
    }
    lines = ["def decode(data):", "    get = data.get"]
    names = []
    for i, f in enumerate(dataclasses.fields(cls)):
        names.append(f.name)
        annotation = hints[f.name]
        var = f"v{i}"
        lines.append(f"    {var} = get({f.name!r}, _M)")
        lines.append(f"    if {var} is _M:")
        if f.default is not dataclasses.MISSING:
            env[f"d{i}"] = f.default
            lines.append(f"        {var} = d{i}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"d{i}"] = f.default_factory
            lines.append(f"        {var} = d{i}()")
        else:
            lines.append(f"        raise _lacks({kind!r}, {f.name!r})")
        test = _inline_test(annotation, var)
        if test is None:
            env[f"c{i}"] = _checker(annotation)
            test = f"c{i}({var})"
        lines.append(f"    elif not ({test}):")
        lines.append(f"        raise _wrong({kind!r}, {f.name!r}, {var})")
        if _may_hold_list(annotation):
            lines.append(f"    elif type({var}) is _list:")
            lines.append(f"        {var} = _tuple({var})")
    if fast:
        lines.append("    event = _new(_cls)")
        pairs = ", ".join(f"{name!r}: v{i}" for i, name in enumerate(names))
        lines.append(f"    event.__dict__.update({{{pairs}}})")
        lines.append("    return event")
    else:
        args = ", ".join(f"{name}=v{i}" for i, name in enumerate(names))
        lines.append(f"    return _cls({args})")
    exec("\n".join(lines), env)  # the source holds our own field names, never input
    decoder: Callable[[dict[str, Any]], DomainEvent] = env["decode"]
    return decoder


def _inline_test(annotation: Any, var: str) -> str | None:
    """A Python expression testing ``var`` against a plain annotation, or None."""
    if annotation in (bool, int, str):
        return _plain_test(annotation, var)
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        args = typing.get_args(annotation)
        if all(a in (bool, int, str, type(None)) for a in args):
            return " or ".join(_plain_test(a, var) for a in args)
    return None


def _plain_test(annotation: Any, var: str) -> str:
    # The bounds are literals in the generated source: no lookup per value.
    if annotation is type(None):
        return f"{var} is None"
    if annotation is int:
        return f"(type({var}) is int and {MIN_INT} <= {var} <= {MAX_INT})"
    if annotation is str:
        return f"(type({var}) is str and _len({var}) <= {MAX_TEXT_CHARS})"
    return f"type({var}) is {annotation.__name__}"


def _may_hold_list(annotation: Any) -> bool:
    # Bodies carry tuples as msgpack arrays, which decode as lists.
    return _inline_test(annotation, "v") is None and typing.get_origin(annotation) is not dict


def _lacks(kind: str, name: str) -> ProtocolError:
    return ProtocolError(f"{kind} body lacks {name!r}")


def _wrong(kind: str, name: str, value: Any) -> ProtocolError:
    return ProtocolError(f"{kind}.{name} has the wrong type or is out of bounds: {value!r:.80}")


_DECODERS: dict[type[DomainEvent], Callable[[dict[str, Any]], DomainEvent]] = {}


def decode(kind: str, data: dict[str, Any]) -> DomainEvent:
    """Build the typed event from a body, refusing unknown kinds and fields of the
    wrong type or out of bounds.

    Fields the class does not declare are ignored (a newer peer may add some).
    """
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ProtocolError(f"unknown event kind {kind!r}")
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = _compile_decoder(cls)
    return decoder(data)
