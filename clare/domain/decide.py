"""Commands in, events out: what the writer may record for each request.

Pure: it reads the current state through a ``StateReader`` and returns the
events to append, or raises a ``UsageError`` that says what the person got
wrong. The writer calls it inside its transaction, so a check and the write it
guards see the same state.

Ops register themselves in ``DECIDERS``; other areas (sessions, messages)
add their own ops from their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from clare.core import ids
from clare.core.errors import InvalidTransition, NotFound, UsageError
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
from clare.domain.states import MAX_PRIORITY
from clare.domain.tasks import Task, check_transition

if TYPE_CHECKING:
    from clare.domain.dispatch_events import Dispatch, Offer
    from clare.domain.entities import Group, Host, Project, Session
    from clare.domain.fleet import Fleet

MAX_TITLE = 300
MAX_TEXT = 64 * 1024
MAX_LIST = 100


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


Decider = Callable[[dict[str, Any], StateReader, Context], Decision]
DECIDERS: dict[str, Decider] = {}


def decider(op: str) -> Callable[[Decider], Decider]:
    def register(fn: Decider) -> Decider:
        DECIDERS[op] = fn
        return fn

    return register


def decide(op: str, args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    fn = DECIDERS.get(op)
    if fn is None:
        raise UsageError(f"unknown command {op!r}")
    return fn(args, state, ctx)


# --- argument checks: a wrong type here is the client's fault ---------------------------


def arg_str(
    args: dict[str, Any], name: str, *, max_len: int = MAX_TEXT, default: str | None = None
) -> str:
    value = args.get(name, default)
    if value is None:
        raise UsageError(f"{name} is required")
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    if len(value) > max_len:
        raise UsageError(f"{name} is {len(value)} characters long, over the limit of {max_len}")
    return value


def arg_opt_str(args: dict[str, Any], name: str, *, max_len: int = MAX_TEXT) -> str | None:
    return None if args.get(name) is None else arg_str(args, name, max_len=max_len)


def arg_int(
    args: dict[str, Any], name: str, *, default: int | None = None, bound: int = MAX_PRIORITY
) -> int:
    value = args.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{name} must be a whole number")
    if not -bound <= value <= bound:
        raise UsageError(f"{name} must be between {-bound} and {bound}")
    return value


def arg_list(args: dict[str, Any], name: str, *, max_item: int = 200) -> tuple[str, ...]:
    value = args.get(name, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{name} must be a list of text")
    if len(value) > MAX_LIST:
        raise UsageError(f"{name} has {len(value)} entries, over the limit of {MAX_LIST}")
    for item in value:
        if not item or len(item) > max_item:
            raise UsageError(f"{name} entries must be 1 to {max_item} characters long")
    return tuple(dict.fromkeys(value))  # keep order, drop repeats


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


def arg_path(args: dict[str, Any], name: str) -> str | None:
    """An absolute path, or None: a relative one would mean nothing to the other nodes."""
    path = arg_opt_str(args, name, max_len=4096)
    if path is not None and path and not PurePosixPath(path).is_absolute():
        raise UsageError(f"{name} must be absolute (start with /), not {path!r}")
    return path


@decider("project.add")
def _project_add(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    name = ids.check_name(arg_str(args, "name", max_len=64), "project")
    need_free_name(state, name)
    path = arg_path(args, "path")
    event = ProjectCreated(
        project=name,
        description=arg_str(args, "description", default="", max_len=MAX_TEXT),
        paths={ctx.machine_id: path} if path else {},
    )
    return Decision([event], {"project": name})


@decider("project.update")
def _project_update(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    name = arg_str(args, "name", max_len=64)
    need_project(state, name)
    path = arg_path(args, "path")
    description = arg_opt_str(args, "description")
    review = args.get("review")
    if review is not None and not isinstance(review, bool):
        raise UsageError("review must be true or false")
    if path is None and description is None and review is None:
        raise UsageError("nothing to change: give a description, a path or --review/--no-review")
    event = ProjectUpdated(
        project=name,
        description=description,
        paths={ctx.machine_id: path} if path else {},
        review=review,
    )
    return Decision([event], {"project": name})


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


@decider("task.add")
def _task_add(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    project = need_project(state, arg_str(args, "project", max_len=64)).name
    title = arg_str(args, "title", max_len=MAX_TITLE).strip()
    if not title:
        raise UsageError("a task needs a title")
    task_id = ctx.new_task_id()
    while state.task(task_id) is not None:  # a local collision: draw again
        task_id = ctx.new_task_id()
    deps = arg_list(args, "depends_on")
    check_dependencies(state, task_id, deps)
    return Decision([task_created(args, task_id, project, title, deps)], {"task": task_id})


def task_created(
    args: dict[str, Any], task_id: str, project: str, title: str, deps: tuple[str, ...]
) -> TaskCreated:
    """The TaskCreated a command's remaining arguments (body, priority, tags, author) make."""
    return TaskCreated(
        task=task_id,
        project=project,
        title=title,
        body=arg_str(args, "body", default=""),
        priority=arg_int(args, "priority", default=0),
        tags=arg_list(args, "tags", max_item=64),
        depends_on=deps,
        author=arg_str(args, "author", default="", max_len=200),
    )


@decider("task.update")
def _task_update(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    title = arg_opt_str(args, "title", max_len=MAX_TITLE)
    if title is not None and not title.strip():
        raise UsageError("a task needs a title")
    deps = arg_list(args, "depends_on") if "depends_on" in args else None
    if deps is not None:
        check_dependencies(state, task.id, deps)
    title = title.strip() if title is not None else None
    body = arg_opt_str(args, "body")
    priority = arg_int(args, "priority") if args.get("priority") is not None else None
    tags = arg_list(args, "tags", max_item=64) if "tags" in args else None
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
        author=arg_str(args, "author", default="", max_len=200),
        previous_title=None if title in (None, task.title) else task.title,
    )
    if all(getattr(event, f) is None for f in ("title", "body", "priority", "tags", "depends_on")):
        raise UsageError(f"nothing to change: task {task.id} is already like that")
    return Decision([event], {"task": task.id})


@decider("task.state")
def _task_state(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    target = arg_str(args, "state", max_len=32)
    check_transition(task.id, task.state, target)
    if target == "in_progress" and not args.get("force"):
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
    author = arg_str(args, "author", default="", max_len=200)
    note = arg_str(args, "note", default="")
    events: list[DomainEvent] = [
        TaskStateChanged(task=task.id, state=target, previous=task.state, note=note, author=author)
    ]
    if note:
        events.append(TaskNoted(task=task.id, text=note, author=author))
    return Decision(events, {"task": task.id, "state": target})


@decider("task.assign")
def _task_assign(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    kind = arg_str(args, "assignee_kind", max_len=16)
    name = arg_str(args, "assignee", max_len=200)
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
        author=arg_str(args, "author", default="", max_len=200),
    )
    return Decision([event], {"task": task.id, "assignee": f"{kind}:{name}"})


@decider("task.unassign")
def _task_unassign(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    if not task.assignee:
        raise UsageError(f"task {task.id} is not assigned to anyone")
    event = TaskUnassigned(
        task=task.id,
        previous=task.assignee_ref,
        author=arg_str(args, "author", default="", max_len=200),
    )
    return Decision([event], {"task": task.id})


@decider("task.note")
def _task_note(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    text = arg_str(args, "text").strip()
    if not text:
        raise UsageError("a note needs some text")
    event = TaskNoted(
        task=task.id, text=text, author=arg_str(args, "author", default="", max_len=200)
    )
    return Decision([event], {"task": task.id})


# --- hosts ------------------------------------------------------------------------------


@decider("host.name")
def _host_name(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    name = arg_str(args, "name", max_len=200)
    groups = arg_list(args, "groups", max_item=64)
    return Decision([HostNamed(machine_id=ctx.machine_id, name=name, groups=groups)])
