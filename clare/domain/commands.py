"""Every command the writer takes, by area: the names and types of what a client may ask.

Each is a ``Command`` (``clare.domain.command``): ``to_wire`` on the client's
side, ``from_wire`` on the writer's, and a decider (``clare.domain.decide``
and the area modules) that turns it into events. Fields that name nothing
checkable (``author``) are free text within bounds; what a value must refer
to (a project that exists, a live session) is the decider's to check.

The annotations stay strings until a command is first rebuilt from the wire
(``Command.from_wire`` reads them with ``typing.get_type_hints``): a client
that only builds and sends commands, like the hook on every prompt, does not
pay for evaluating the bounds of every field of every command.
"""

from __future__ import annotations

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
    #: Finished work goes to review first (True) or straight to done (False).
    review: bool | None = None


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
    #: The session's usage by model as it just read its transcript (``usage_now``).
    usage: dict[str, Any] | None = None


class TaskRelease(Command):
    """Give back what a session that ended on this host still holds of ``candidates``."""

    op = "task.release"
    session: SessionId
    candidates: Tags = ()


class TaskFinish(Command):
    """A session handed its task in: to review when its project asks for it, else done."""

    op = "task.finish"
    task: TaskId
    session: SessionId
    note: str = ""
    #: Defaults to ``session:ID``.
    author: Author = ""
    usage: dict[str, Any] | None = None
    #: What git showed of the work (``clare.domain.work``), checked by the decider.
    work: dict[str, Any] | None = None


class TaskReview(Command):
    """Approve a task in review, or send it back (``request_changes``) with ``text``."""

    op = "task.review"
    task: TaskId
    verdict: Annotated[str, MaxLen(32)]
    text: Annotated[str, MaxLen(MAX_MESSAGE)] = ""
    #: When the changes are sent to the session that did the work.
    sent_at: Millis = 0
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


# --- decisions: a session's permission prompt, answered from any host ----------------------

MAX_SUMMARY = 2000
MAX_INPUT = 8192
MAX_REASON = 2000
MAX_SUGGESTION = 500


class DecisionAsk(Command):
    """A permission dialog opened in a session on this host."""

    op = "decision.ask"
    session: SessionId
    tool: Annotated[str, MaxLen(200)]
    at: Millis
    summary: Annotated[str, MaxLen(MAX_SUMMARY)] = ""
    #: The tool's input as JSON text, cut to fit.
    tool_input: Annotated[str, MaxLen(MAX_INPUT)] = ""
    suggestions: Annotated[tuple[str, ...], MaxLen(MAX_SUGGESTION)] = ()
    cwd: Annotated[str, MaxLen(4096)] = ""
    project: Name = ""


class DecisionMake(Command):
    """Allow or deny a pending decision."""

    op = "decision.make"
    decision: Annotated[str, MaxLen(64)]
    #: allow or deny
    behavior: Annotated[str, MaxLen(16)]
    reason: Annotated[str, MaxLen(MAX_REASON)] = ""
    #: cli or web
    via: Annotated[str, MaxLen(16)] = "cli"
    at: Millis = 0
    author: Author = ""


class DecisionSettle(Command):
    """This host's pending asks ended without an answer (``how``: at the terminal, ...)."""

    op = "decision.settle"
    decisions: Annotated[tuple[str, ...], MaxLen(64)]
    how: Annotated[str, MaxLen(16)]
    at: Millis = 0


# --- dispatch: Claude Code started on a host for a task ------------------------------------

RequestId = Annotated[str, MaxLen(40)]
Reason = Annotated[str, MaxLen(500)]


class DispatchRequest(Command):
    """Start a session for ``task`` (``action`` start) or stop ``session`` (stop)."""

    op = "dispatch.request"
    request: RequestId
    #: start or stop
    action: Annotated[str, MaxLen(16)]
    task: TaskId = ""
    session: SessionId = ""
    #: A host's name or machine id; this host when empty.
    host: Annotated[str, MaxLen(200)] = ""
    #: The session's name; ``clare-TASK`` when empty.
    name: Name = ""
    worktree: bool = True
    author: Author = ""


class DispatchAccept(Command):
    """The target host takes its request on, once (or refuses it, with why)."""

    op = "dispatch.accept"
    request: RequestId
    now_ms: Millis
    max_age_ms: Millis
    #: Why this host refuses before any check of the request's own (dispatch is off...).
    refuse: Reason = ""


class DispatchNoteLaunched(Command):
    """The host ran ``claude --bg``: its job id, before the session appears."""

    op = "dispatch.launched"
    request: RequestId
    job_id: Annotated[str, MaxLen(64)]


class DispatchNoteStarted(Command):
    """The dispatched session appeared: its id."""

    op = "dispatch.started"
    request: RequestId
    session: SessionId


class DispatchNoteStopped(Command):
    """A stop request was carried out: how."""

    op = "dispatch.stopped"
    request: RequestId
    how: Reason = ""


class DispatchRefuse(Command):
    op = "dispatch.refuse"
    request: RequestId
    reason: Reason


class DispatchOffer(Command):
    """What this host's owner allows of dispatch, as clare.toml says."""

    op = "dispatch.offer"
    enabled: bool
    max_sessions: Annotated[int, Bound(1000)]
    permission_mode: Annotated[str, MaxLen(32)] = "default"


# --- the fleet: membership by invitation ----------------------------------------------------

Key = Annotated[str, MaxLen(40)]
Sha256 = Annotated[str, MaxLen(64)]
Endpoint = Annotated[str, MaxLen(200)]


class FleetInvite(Command):
    """Record an invitation by the hash of its secret; the first one founds the fleet."""

    op = "fleet.invite"
    key: Key
    name: Name
    endpoint: Endpoint
    invite: Name
    secret_sha256: Sha256
    expires_ms: Millis


class FleetJoin(Command):
    """A guest presents an invitation this host made."""

    op = "fleet.join"
    key: Key
    origin: Name
    name: Name
    endpoint: Endpoint
    invite: Name
    secret_sha256: Sha256
    token_expires_ms: Millis
    now_ms: Millis


class FleetAdmit(Command):
    """The member that let this host in, recorded here once it has."""

    op = "fleet.admit"
    key: Key
    origin: Name
    name: Name
    endpoint: Endpoint


class FleetRemove(Command):
    """Put a member out for good."""

    op = "fleet.remove"
    #: Its name, machine id or key (a prefix of 6 or more).
    host: Name
    reason: Reason = ""


#: Every command by op: what the writer can be asked.
COMMANDS: dict[str, type[Command]] = {
    cls.op: cls
    for cls in (
        ProjectAdd, ProjectUpdate, ProjectRename, ProjectDelete,
        TaskAdd, TaskImport, TaskUpdate, TaskState, TaskAssign, TaskUnassign, TaskNote,
        TaskDelete, TaskClaim, HostName, GroupAdd, GroupRemove,
        SessionObserve, SessionHook, MessageSend, MessageDeliver,
        TaskRelease, TaskFinish, TaskReview, DecisionAsk, DecisionMake, DecisionSettle,
        DispatchRequest, DispatchAccept, DispatchNoteLaunched, DispatchNoteStarted,
        DispatchNoteStopped,
        DispatchRefuse, DispatchOffer, FleetInvite, FleetJoin, FleetAdmit, FleetRemove,
    )
}  # fmt: skip

__all__ = ["COMMANDS", "MAX_TEXT", "MAX_TITLE", "Command"]
