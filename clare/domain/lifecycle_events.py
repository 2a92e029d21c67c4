"""Events of a task's or project's life beyond editing: deleted, moved, renamed.

Kept out of ``clare.domain.events`` and added to its registry from here, so the
kinds of one feature sit together. Their text fields are bounded
(``max_lengths``): a body from a peer with a longer field is refused as
malformed data, like one with a field of the wrong type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from clare.core.errors import ProtocolError
from clare.domain.events import DomainEvent, register


@dataclass(frozen=True)
class _Bounded(DomainEvent):
    """An event whose text fields have a maximum length, checked when it is made or decoded.

    Bodies arrive from peers: a field longer than any client may send is refused
    as malformed data (a ``ProtocolError``), like a field of the wrong type.
    """

    max_lengths: ClassVar[dict[str, int]] = {}

    def __post_init__(self) -> None:
        for name, limit in self.max_lengths.items():
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > limit:
                raise ProtocolError(
                    f"{self.kind}.{name} is {len(value)} characters long, over {limit}"
                )


@dataclass(frozen=True)
class TaskDeleted(_Bounded):
    """A task taken off every list and board; its events, and so its history, stay."""

    kind: ClassVar[str] = "TaskDeleted"
    task: str
    author: str = ""
    reason: str = ""

    entity_field: ClassVar[str] = "task"
    max_lengths: ClassVar[dict[str, int]] = {"task": 64, "author": 200, "reason": 2000}


@dataclass(frozen=True)
class TaskMoved(_Bounded):
    """A task now belongs to another project (a project's rename moves its tasks)."""

    kind: ClassVar[str] = "TaskMoved"
    task: str
    project: str
    previous: str = ""
    author: str = ""

    entity_field: ClassVar[str] = "task"
    max_lengths: ClassVar[dict[str, int]] = {
        "task": 64, "project": 64, "previous": 64, "author": 200,
    }  # fmt: skip


@dataclass(frozen=True)
class ProjectDeleted(_Bounded):
    """A project taken off every list (its tasks get their own ``TaskDeleted``)."""

    kind: ClassVar[str] = "ProjectDeleted"
    project: str
    author: str = ""

    entity_field: ClassVar[str] = "project"
    entity_prefix: ClassVar[str] = "p:"
    max_lengths: ClassVar[dict[str, int]] = {"project": 64, "author": 200}


@dataclass(frozen=True)
class ProjectRenamed(_Bounded):
    """A project's old name gives way to ``new_name``.

    A project's name is its identity (the entity ``p:NAME``), so a rename is
    this event on the old project, a ``ProjectCreated`` of the new name with
    the same description and paths, and a ``TaskMoved`` for each of its tasks,
    recorded together.
    """

    kind: ClassVar[str] = "ProjectRenamed"
    project: str
    new_name: str
    author: str = ""

    entity_field: ClassVar[str] = "project"
    entity_prefix: ClassVar[str] = "p:"
    max_lengths: ClassVar[dict[str, int]] = {"project": 64, "new_name": 64, "author": 200}


#: For events of other areas whose text fields are bounded the same way.
Bounded = _Bounded

for _cls in (TaskDeleted, TaskMoved, ProjectDeleted, ProjectRenamed):
    register(_cls)
