"""Task transitions and the fold of a task's events (the states table is in clare.domain.states).

The fold is applied to a task's events in the order every host agrees on,
``(hlc, origin)``, so every host computes the same task from the same events
(invariant 9). Events that raced (made on two hosts before either saw the
other's) are detected by the ``previous`` value each carries: the state or
assignee its author saw. When that is not what the fold holds, the event lost
a race. It still applies if it makes sense from the state the fold is in, and
is otherwise dropped; either way a ``Conflict`` says so, naming winner and
loser, so nothing is silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from clare.core.errors import InvalidTransition
from clare.domain.events import (
    DomainEvent,
    TaskAssigned,
    TaskCreated,
    TaskEdited,
    TaskNoted,
    TaskStateChanged,
    TaskUnassigned,
)
from clare.domain.lifecycle_events import TaskDeleted, TaskMoved
from clare.domain.states import STATES, TRANSITIONS, VERBS


def check_transition(task_id: str, current: str, target: str) -> None:
    if target not in TRANSITIONS:
        raise InvalidTransition(f"unknown task state {target!r}; states are {', '.join(STATES)}")
    if current == target:
        raise InvalidTransition(f"task {task_id} is already {current}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise InvalidTransition(
            f"cannot {VERBS[target]} task {task_id}: it is {current} (from {current} it can "
            f"go to {allowed})"
        )


class EventMeta(NamedTuple):
    """Where an event stands in the agreed order, and who made it.

    A named tuple rather than a frozen dataclass: one is made for every event
    folded, and a tuple is built in a single step.
    """

    id: str
    hlc: int
    origin: str
    seq: int = 0

    @property
    def key(self) -> tuple[int, str]:
        return (self.hlc, self.origin)


@dataclass(frozen=True)
class Conflict:
    """An event that raced another one made elsewhere, and how it was settled."""

    event_id: str
    winner_event_id: str
    field: str  # "state", "assignee", "title", "created"
    description: str
    applied: bool
    hlc: int


@dataclass(slots=True)
class Task:
    """A task as its events made it.

    Mutable on purpose: the fold runs for every event a projector applies, and
    copying an 18-field object per event cost a third of a rebuild. Whoever
    holds a Task owns it (a cache entry, a fold in progress); nothing shares one.
    """

    id: str
    project: str
    title: str
    body: str = ""
    priority: int = 0
    tags: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    state: str = "todo"
    assignee_kind: str = ""
    assignee: str = ""
    created_at: int = 0  # hlc stamp
    updated_at: int = 0  # hlc stamp
    notes: int = 0
    last_key: tuple[int, str] = (0, "")
    state_event_id: str = ""  # the event that set the current state
    assignee_event_id: str = ""
    created_event_id: str = ""
    title_event_id: str = ""
    deleted: bool = False
    conflicts: tuple[Conflict, ...] = field(default=())

    @property
    def assignee_ref(self) -> str:
        return f"{self.assignee_kind}:{self.assignee}" if self.assignee else ""


def is_ready(task: Task, done_ids: set[str] | frozenset[str]) -> bool:
    return task.state == "todo" and all(dep in done_ids for dep in task.depends_on)


def apply(task: Task | None, event: DomainEvent, meta: EventMeta) -> Task | None:
    """Fold ``event`` into ``task`` (in place) and return it; events must come in
    ``(hlc, origin)`` order."""
    if isinstance(event, TaskCreated):
        if task is not None:
            task.last_key = meta.key
            _conflict(task, Conflict(
                meta.id, task.created_event_id, "created",
                f"task id {task.id} was created twice; the first creation is kept",
                applied=False, hlc=meta.hlc,
            ))  # fmt: skip
            return task
        return Task(
            id=event.task,
            project=event.project,
            title=event.title,
            body=event.body,
            priority=event.priority,
            tags=event.tags,
            depends_on=event.depends_on,
            created_at=meta.hlc,
            updated_at=meta.hlc,
            last_key=meta.key,
            created_event_id=meta.id,
            state_event_id=meta.id,
            title_event_id=meta.id,
        )
    if task is None:
        # An event about a task whose creation has not arrived yet. Creation sorts
        # first in the agreed order, so the task is refolded when it comes.
        return None
    task.last_key = meta.key
    task.updated_at = meta.hlc
    if isinstance(event, TaskNoted):
        task.notes += 1
    elif isinstance(event, TaskStateChanged):
        _apply_state(task, event, meta)
    elif isinstance(event, TaskAssigned | TaskUnassigned):
        _apply_assignment(task, event, meta)
    elif isinstance(event, TaskDeleted):
        task.deleted = True  # for good: later events still fold, on a task nobody lists
    elif isinstance(event, TaskMoved):
        task.project = event.project
    elif isinstance(event, TaskEdited):
        if event.title is not None:
            _apply_title(task, event, event.title, meta)
        if event.body is not None:
            task.body = event.body
        if event.priority is not None:
            task.priority = event.priority
        if event.tags is not None:
            task.tags = event.tags
        if event.depends_on is not None:
            task.depends_on = event.depends_on
    return task


def _conflict(task: Task, conflict: Conflict) -> None:
    task.conflicts = (*task.conflicts, conflict)


def _apply_state(task: Task, event: TaskStateChanged, meta: EventMeta) -> None:
    if task.state == event.previous:
        task.state = event.state
        task.state_event_id = meta.id
        return
    valid = event.state in TRANSITIONS.get(task.state, frozenset())
    if valid:
        text = (
            f"moved {event.previous} -> {event.state}, but another change had made it "
            f"{task.state}; applied after it"
        )
    else:
        text = (
            f"wanted {event.previous} -> {event.state}, but another change had made it "
            f"{task.state} first; not applied"
        )
    _conflict(task, Conflict(meta.id, task.state_event_id, "state", text, valid, meta.hlc))
    if valid:
        task.state = event.state
        task.state_event_id = meta.id


def _apply_title(task: Task, event: TaskEdited, title: str, meta: EventMeta) -> None:
    # Last writer wins; a title its author did not see is replaced, and kept visible.
    seen = event.previous_title
    if seen is not None and seen != task.title and title != task.title:
        text = (
            f"retitled {seen!r} -> {title!r}, but another change had made it "
            f"{task.title!r}; that title was replaced"
        )
        _conflict(task, Conflict(meta.id, task.title_event_id, "title", text, True, meta.hlc))
    task.title = title
    task.title_event_id = meta.id


def _apply_assignment(task: Task, event: TaskAssigned | TaskUnassigned, meta: EventMeta) -> None:
    if isinstance(event, TaskUnassigned):
        new_kind, new_name, claimed = "", "", False
    else:
        new_kind, new_name, claimed = event.assignee_kind, event.assignee, event.claimed
    target = f"{new_kind}:{new_name}" if new_name else ""
    if task.assignee_ref not in (event.previous, target):
        # A race. A claim never takes a task another session already holds: the
        # first claim in the agreed order wins and the loser is told.
        if claimed and task.assignee_kind == "session":
            text = f"claim by {target} lost: {task.assignee_ref} had claimed it first"
            _conflict(
                task, Conflict(meta.id, task.assignee_event_id, "assignee", text, False, meta.hlc)
            )
            return
        text = (
            f"assignment to {target or 'nobody'} replaced {task.assignee_ref or 'nobody'}, "
            f"made concurrently (its author saw {event.previous or 'nobody'})"
        )
        _conflict(task, Conflict(meta.id, task.assignee_event_id, "assignee", text, True, meta.hlc))
    task.assignee_kind = new_kind
    task.assignee = new_name
    task.assignee_event_id = meta.id
