"""Commands in, events out: what the writer may record for each request.

Pure: it reads the current state through a ``StateReader`` and returns the
events to append, or raises a ``UsageError`` that says what the person got
wrong. The writer calls it inside its transaction, so a check and the write it
guards see the same state.

Each decider takes its typed command (``clare.domain.commands``), rebuilt
from the wire and checked field by field before the decider runs. Deciders
register in ``DECIDERS`` by command; other areas (sessions, messages) add
their own from their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from clare.core import ids
from clare.core.errors import InvalidTransition, NotFound, UsageError
from clare.domain.command import Command
from clare.domain.commands import (
    HostName,
    ProjectAdd,
    ProjectUpdate,
    TaskAdd,
    TaskAssign,
    TaskImport,
    TaskNote,
    TaskState,
    TaskUnassign,
    TaskUpdate,
)
from clare.domain.events import (
    DomainEvent,
    HostNamed,
    ProjectCreated,
    ProjectUpdated,
    TaskAssigned,
    TaskCreated,
    TaskEdited,
    TaskNoted,
    TaskStateChanged,
    TaskUnassigned,
)
from clare.domain.tasks import Task, check_transition

if TYPE_CHECKING:
    from clare.domain.dispatch_events import Dispatch, Offer
    from clare.domain.entities import Group, Host, Project, Session
    from clare.domain.fleet import Fleet


class StateReader(Protocol):
    def task(self, task_id: str) -> Task | None: ...
    def project(self, name: str) -> Project | None: ...
    def session(self, session_id: str) -> Session | None: ...
    def host_by_name(self, name: str) -> Host | None: ...
    def tasks_of_project(self, name: str) -> list[Task]: ...
    def group(self, name: str) -> Group | None: ...
    def dispatch(self, request_id: str) -> Dispatch | None: ...
    def offer(self, machine_id: str) -> Offer | None: ...
    def fleet(self) -> Fleet: ...


@dataclass(frozen=True)
class Context:
    machine_id: str
    new_task_id: Callable[[], str] = ids.new_task_id


@dataclass
class Decision:
    events: list[DomainEvent]
    result: dict[str, Any] = field(default_factory=dict)


C = TypeVar("C", bound=Command)
Decider = Callable[[C, "StateReader", Context], Decision]
DECIDERS: dict[str, tuple[type[Command], Decider[Any]]] = {}


def decider(command: type[C]) -> Callable[[Decider[C]], Decider[C]]:
    def register(fn: Decider[C]) -> Decider[C]:
        DECIDERS[command.op] = (command, fn)
        return fn

    return register


def decide(op: str, args: object, state: StateReader, ctx: Context) -> Decision:
    """The events a client's request makes: its command rebuilt and checked, then decided."""
    entry = DECIDERS.get(op)
    if entry is None:
        raise UsageError(f"unknown command {op!r}")
    command_type, fn = entry
    return fn(command_type.from_wire(args), state, ctx)


def need_task(state: StateReader, task_id: str) -> Task:
    task = state.task(task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.deleted:
        raise NotFound(f"task {task_id} was deleted (`clare log` keeps its history)")
    return task


def need_live_session(state: StateReader, session_id: str) -> Session:
    """A session that has not ended: what is sent to an ended one would never be read."""
    session = state.session(session_id)
    if session is None:
        raise NotFound(f"no session {session_id}: see `clare session list --all`")
    if session.snapshot.status == "ended":
        raise UsageError(f"session {session_id} has ended: see `clare session list` for live ones")
    return session


def need_project(state: StateReader, name: str) -> Project:
    project = state.project(name)
    if project is None:
        raise NotFound(f"no project {name!r}: create it with `clare project add {name}`")
    if project.renamed_to:
        raise NotFound(f"project {name!r} was renamed to {project.renamed_to!r}")
    if project.deleted:
        raise NotFound(f"project {name!r} was deleted")
    return project


# --- projects ---------------------------------------------------------------------------


def check_path(name: str, path: str | None) -> str | None:
    """An absolute path, or None: a relative one would mean nothing to the other nodes."""
    if path is not None and path and not PurePosixPath(path).is_absolute():
        raise UsageError(f"{name} must be absolute (start with /), not {path!r}")
    return path


@decider(ProjectAdd)
def _project_add(cmd: ProjectAdd, state: StateReader, ctx: Context) -> Decision:
    name = ids.check_name(cmd.name, "project")
    need_free_name(state, name)
    path = check_path("path", cmd.path)
    event = ProjectCreated(
        project=name,
        description=cmd.description,
        paths={ctx.machine_id: path} if path else {},
    )
    return Decision([event], {"project": name})


@decider(ProjectUpdate)
def _project_update(cmd: ProjectUpdate, state: StateReader, ctx: Context) -> Decision:
    need_project(state, cmd.name)
    path = check_path("path", cmd.path)
    if path is None and cmd.description is None and cmd.review is None:
        raise UsageError("nothing to change: give a description, a path or --review/--no-review")
    event = ProjectUpdated(
        project=cmd.name,
        description=cmd.description,
        paths={ctx.machine_id: path} if path else {},
        review=cmd.review,
    )
    return Decision([event], {"project": cmd.name})


def need_free_name(state: StateReader, name: str) -> None:
    found = state.project(name)
    if found is None:
        return
    if found.deleted:
        # The name is the project's identity, and its events stay: a new project
        # under it would inherit the old one's history.
        raise UsageError(f"project {name!r} existed and was deleted: choose another name")
    raise UsageError(f"project {name!r} exists already")


# --- tasks ------------------------------------------------------------------------------


def check_dependencies(state: StateReader, task_id: str, deps: tuple[str, ...]) -> None:
    for dep in deps:
        if dep == task_id:
            raise UsageError(f"task {task_id} cannot depend on itself")
        need_task(state, dep)
    # A cycle would make every task in it wait forever: walk the graph from deps.
    seen: set[str] = set()
    stack = list(deps)
    while stack:
        current = stack.pop()
        if current == task_id:
            raise UsageError(f"that dependency would make a cycle through {task_id}")
        if current in seen:
            continue
        seen.add(current)
        found = state.task(current)
        if found is not None:
            stack.extend(found.depends_on)


@decider(TaskAdd)
def _task_add(cmd: TaskAdd, state: StateReader, ctx: Context) -> Decision:
    project = need_project(state, cmd.project).name
    title = cmd.title.strip()
    if not title:
        raise UsageError("a task needs a title")
    task_id = ctx.new_task_id()
    while state.task(task_id) is not None:  # a local collision: draw again
        task_id = ctx.new_task_id()
    check_dependencies(state, task_id, cmd.depends_on)
    return Decision([task_created(cmd, task_id, project, title)], {"task": task_id})


def task_created(cmd: TaskAdd | TaskImport, task_id: str, project: str, title: str) -> TaskCreated:
    """The TaskCreated a command's remaining fields (body, priority, tags, author) make."""
    return TaskCreated(
        task=task_id,
        project=project,
        title=title,
        body=cmd.body,
        priority=cmd.priority,
        tags=cmd.tags,
        depends_on=cmd.depends_on,
        author=cmd.author,
    )


@decider(TaskUpdate)
def _task_update(cmd: TaskUpdate, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    if cmd.title is not None and not cmd.title.strip():
        raise UsageError("a task needs a title")
    deps = cmd.depends_on
    if deps is not None:
        check_dependencies(state, task.id, deps)
    title = cmd.title.strip() if cmd.title is not None else None
    body, priority, tags = cmd.body, cmd.priority, cmd.tags
    if all(v is None for v in (title, body, priority, tags, deps)):
        raise UsageError("nothing to change: give a title, body, priority, tags or dependencies")
    # Only what differs is recorded: an edit that changes nothing is no event at all.
    event = TaskEdited(
        task=task.id,
        title=None if title == task.title else title,
        body=None if body == task.body else body,
        priority=None if priority == task.priority else priority,
        tags=None if tags == task.tags else tags,
        depends_on=None if deps == task.depends_on else deps,
        author=cmd.author,
        previous_title=None if title in (None, task.title) else task.title,
    )
    if all(getattr(event, f) is None for f in ("title", "body", "priority", "tags", "depends_on")):
        raise UsageError(f"nothing to change: task {task.id} is already like that")
    return Decision([event], {"task": task.id})


@decider(TaskState)
def _task_state(cmd: TaskState, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    target = cmd.state
    check_transition(task.id, task.state, target)
    if target == "in_progress" and not cmd.force:
        waiting = [
            dep
            for dep in task.depends_on
            if (d := state.task(dep)) is None or d.state != "done" or d.deleted
        ]
        if waiting:
            raise InvalidTransition(
                f"task {task.id} waits on {', '.join(waiting)} (not done yet); "
                "finish those first, or pass --force"
            )
    events: list[DomainEvent] = [
        TaskStateChanged(
            task=task.id, state=target, previous=task.state, note=cmd.note, author=cmd.author
        )
    ]
    if cmd.note:
        events.append(TaskNoted(task=task.id, text=cmd.note, author=cmd.author))
    return Decision(events, {"task": task.id, "state": target})


@decider(TaskAssign)
def _task_assign(cmd: TaskAssign, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    kind, name = cmd.assignee_kind, cmd.assignee
    if kind == "session":
        need_live_session(state, name)
    elif kind == "host":
        if state.host_by_name(name) is None:
            raise NotFound(f"no host named {name!r} has ever run Clare here or synced with it")
    elif kind == "group":
        group = state.group(name)
        if group is None or group.removed:
            raise NotFound(f"no group {name!r}: create it with `clare group add {name}`")
    else:
        raise UsageError(f"assignee kind must be session, host or group, not {kind!r}")
    if task.assignee_ref == f"{kind}:{name}":
        raise UsageError(f"task {task.id} is already assigned to {kind} {name}")
    event = TaskAssigned(
        task=task.id,
        assignee_kind=kind,
        assignee=name,
        previous=task.assignee_ref,
        author=cmd.author,
    )
    return Decision([event], {"task": task.id, "assignee": f"{kind}:{name}"})


@decider(TaskUnassign)
def _task_unassign(cmd: TaskUnassign, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    if not task.assignee:
        raise UsageError(f"task {task.id} is not assigned to anyone")
    event = TaskUnassigned(task=task.id, previous=task.assignee_ref, author=cmd.author)
    return Decision([event], {"task": task.id})


@decider(TaskNote)
def _task_note(cmd: TaskNote, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    text = cmd.text.strip()
    if not text:
        raise UsageError("a note needs some text")
    return Decision([TaskNoted(task=task.id, text=text, author=cmd.author)], {"task": task.id})


# --- hosts ------------------------------------------------------------------------------


@decider(HostName)
def _host_name(cmd: HostName, state: StateReader, ctx: Context) -> Decision:
    return Decision([HostNamed(machine_id=ctx.machine_id, name=cmd.name, groups=cmd.groups)])
