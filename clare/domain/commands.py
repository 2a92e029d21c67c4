"""Every command the writer takes, by area: the names and types of what a client may ask.

Each is a ``Command`` (``clare.domain.command``): ``to_wire`` on the client's
side, ``from_wire`` on the writer's, and a decider (``clare.domain.decide``
and the area modules) that turns it into events. Fields that name nothing
checkable (``author``) are free text within bounds; what a value must refer
to (a project that exists, a live session) is the decider's to check.

No ``from __future__ import annotations`` here: the bounds in the annotations
are read at run time.
"""

from typing import Annotated, Any

from clare.core.ids import MAX_SESSION_ID
from clare.domain.command import MAX_TEXT, Bound, Command, MaxLen
from clare.domain.targets import DEFAULT_TTL_MS, MAX_TTL_MS

MAX_TITLE = 300
MAX_MESSAGE = 16 * 1024
#: A time in ms since the epoch.
_MS = Bound(2**53)

Name = Annotated[str, MaxLen(64)]
TaskId = Annotated[str, MaxLen(64)]
SessionId = Annotated[str, MaxLen(MAX_SESSION_ID)]
Author = Annotated[str, MaxLen(200)]
Path = Annotated[str | None, MaxLen(4096)]
Tags = Annotated[tuple[str, ...], MaxLen(64)]
Ids = Annotated[tuple[str, ...], MaxLen(200)]
Millis = Annotated[int, _MS]


# --- projects -------------------------------------------------------------------------------


class ProjectAdd(Command):
    op = "project.add"
    name: Name
    description: str = ""
    path: Path = None


class ProjectUpdate(Command):
    op = "project.update"
    name: Name
    description: str | None = None
    path: Path = None


class ProjectRename(Command):
    op = "project.rename"
    name: Name
    new_name: Name
    author: Author = ""


class ProjectDelete(Command):
    op = "project.delete"
    name: Name
    author: Author = ""


# --- tasks ----------------------------------------------------------------------------------


class TaskAdd(Command):
    op = "task.add"
    project: Name
    title: Annotated[str, MaxLen(MAX_TITLE)]
    body: str = ""
    priority: int = 0
    tags: Tags = ()
    depends_on: Ids = ()
    author: Author = ""


class TaskImport(Command):
    """A task from an export, under its own id, in the state the export says."""

    op = "task.import"
    task: TaskId
    project: Name
    title: Annotated[str, MaxLen(MAX_TITLE)]
    state: Annotated[str, MaxLen(32)] = "todo"
    body: str = ""
    priority: int = 0
    tags: Tags = ()
    depends_on: Ids = ()
    author: Author = ""


class TaskUpdate(Command):
    """Change what is given (None: leave as it is)."""

    op = "task.update"
    task: TaskId
    title: Annotated[str | None, MaxLen(MAX_TITLE)] = None
    body: str | None = None
    priority: int | None = None
    tags: Annotated[tuple[str, ...] | None, MaxLen(64)] = None
    depends_on: Annotated[tuple[str, ...] | None, MaxLen(200)] = None
    author: Author = ""


class TaskState(Command):
    op = "task.state"
    task: TaskId
    state: Annotated[str, MaxLen(32)]
    note: str = ""
    #: Start it although tasks it depends on are not done.
    force: bool = False
    author: Author = ""


class TaskAssign(Command):
    op = "task.assign"
    task: TaskId
    #: session, host or group
    assignee_kind: Annotated[str, MaxLen(16)]
    assignee: Annotated[str, MaxLen(200)]
    author: Author = ""


class TaskUnassign(Command):
    op = "task.unassign"
    task: TaskId
    author: Author = ""


class TaskNote(Command):
    op = "task.note"
    task: TaskId
    text: str
    author: Author = ""


class TaskDelete(Command):
    op = "task.delete"
    task: TaskId
    reason: Annotated[str, MaxLen(2000)] = ""
    author: Author = ""


class TaskClaim(Command):
    """Take the first of ``candidates`` (in order of preference) that is ready."""

    op = "task.claim"
    session: SessionId
    candidates: Tags
    author: Author = ""


# --- hosts and groups -----------------------------------------------------------------------


class HostName(Command):
    op = "host.name"
    name: Annotated[str, MaxLen(200)]
    groups: Tags = ()


class GroupAdd(Command):
    """Create a group, or add members (``session:ID``, ``host:NAME``) to it."""

    op = "group.add"
    name: Name
    members: Ids = ()


class GroupRemove(Command):
    """Remove members from a group, or the whole group when none is named."""

    op = "group.remove"
    name: Name
    members: Ids = ()


# --- sessions -------------------------------------------------------------------------------


class SessionObserve(Command):
    """What the poller saw of one session: a map of ``SessionObserved`` fields."""

    op = "session.observe"
    snapshot: dict[str, Any]


class SessionHook(Command):
    """A Claude Code hook fired in a session (and the messages it delivered)."""

    op = "session.hook"
    session: SessionId
    event: Annotated[str, MaxLen(64)]
    at: Millis
    notification_type: Annotated[str, MaxLen(64)] = ""
    background_tasks: Annotated[int, Bound(2**31)] = 0
    source: Annotated[str, MaxLen(64)] = ""
    waiting_for: Annotated[str, MaxLen(300)] = ""
    cwd: Annotated[str, MaxLen(4096)] = ""
    project: Annotated[str, MaxLen(4096)] = ""
    pid: Annotated[int, Bound(2**31)] = 0
    prompt: Annotated[str, MaxLen(100_000)] = ""
    delivered: Tags = ()


# --- messages -------------------------------------------------------------------------------


class MessageSend(Command):
    op = "message.send"
    text: Annotated[str, MaxLen(MAX_MESSAGE)]
    sent_at: Millis
    #: all, or kind:name (project, group, host, session)
    target: Annotated[str, MaxLen(300)] = "all"
    ttl_ms: Annotated[int, Bound(MAX_TTL_MS)] = DEFAULT_TTL_MS
    author: Author = ""
    #: The caller found the group's name among hosts' configured groups, which live
    #: in HostNamed events the writer's reader cannot list.
    host_group: bool = False


class MessageDeliver(Command):
    op = "message.deliver"
    session: SessionId
    messages: Tags
    #: hook, pull or tmux
    via: Annotated[str, MaxLen(16)] = "pull"
    at: Millis = 0


#: Every command by op: what the writer can be asked.
COMMANDS: dict[str, type[Command]] = {
    cls.op: cls
    for cls in (
        ProjectAdd, ProjectUpdate, ProjectRename, ProjectDelete,
        TaskAdd, TaskImport, TaskUpdate, TaskState, TaskAssign, TaskUnassign, TaskNote,
        TaskDelete, TaskClaim, HostName, GroupAdd, GroupRemove,
        SessionObserve, SessionHook, MessageSend, MessageDeliver,
    )
}  # fmt: skip

__all__ = ["COMMANDS", "MAX_TEXT", "MAX_TITLE", "Command"]
