"""Writer ops for sessions, claims and groups, and the rule for what counts as a change.

Sessions are recorded as whole snapshots (``SessionObserved``). Two writers of
them exist on a host: the poller, which reads Claude Code's files, and the
hook, which Claude Code runs at each turn. Both go through
:func:`significant_change`, so a snapshot that only moved a token count or an
activity stamp by a little writes nothing: a busy fleet records a few events per
turn, not one per transcript line.

``task.claim`` is the atomic half of ``clare pull --claim``: the CLI lists
candidate tasks from the views (which may lag), and the writer takes the first
one that is still ready and unclaimed according to its own, current state.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any

from clare.core import ids
from clare.core.errors import NotFound, ProtocolError, UsageError
from clare.core.ids import MAX_SESSION_ID
from clare.domain.commands import (
    GroupAdd,
    GroupRemove,
    SessionHook,
    SessionObserve,
    TaskClaim,
)
from clare.domain.decide import (
    Context,
    Decision,
    StateReader,
    decider,
)
from clare.domain.events import (
    DomainEvent,
    GroupChanged,
    SessionObserved,
    TaskAssigned,
    TaskStateChanged,
    decode,
)
from clare.domain.messages import deliveries

#: Fields whose every change is worth an event.
EXACT_FIELDS = (
    "pid", "name", "cwd", "project", "branch", "status", "waiting_for", "version", "model",
    "title", "first_prompt", "started_at", "tmux_pane", "source",
    "session_kind", "job_id", "permission_mode",
)  # fmt: skip
#: Tokens are recorded when they grew by this many, or by 5 % of the last recorded count.
TOKEN_STEP = 25_000
#: Activity is recorded when it moved on by this much (a status change records it at once).
ACTIVITY_STEP_MS = 5 * 60 * 1000

#: Session status each Claude Code hook event means, unless ``hook_status`` says otherwise.
HOOK_STATUS = {
    "SessionStart": "idle",
    "UserPromptSubmit": "busy",
    "Stop": "idle",
    "SessionEnd": "ended",
}
#: Notifications that need a person. ``idle_prompt`` (nobody typed for a while) is idle;
#: ``auth_success`` and types Clare does not know change nothing.
WAITING_NOTIFICATIONS = frozenset({"permission_prompt", "elicitation_dialog", "agent_needs_input"})
MAX_MEMBERS = 1000
MAX_SNAPSHOT_TEXT = 4096
MAX_SNAPSHOT_INT = 2**53
MAX_USAGE_MODELS = 16


def significant_change(old: SessionObserved | None, new: SessionObserved) -> bool:
    """Whether ``new`` says enough that ``old`` does not to be worth an event."""
    if old is None:
        return True
    if any(getattr(old, f) != getattr(new, f) for f in EXACT_FIELDS):
        return True
    old_tokens = old.tokens_in + old.tokens_out
    if new.status == "ended" and (
        (new.tokens_in, new.tokens_out) != (old.tokens_in, old.tokens_out)
        or (new.usage and _usage_total(new) != _usage_total(old))
    ):
        # The last word on a session is exact: its end may be recorded first by its
        # SessionEnd hook, before the poller's last read of the transcript.
        return True
    grown = abs(new.tokens_in + new.tokens_out - old_tokens)
    if grown and grown >= max(TOKEN_STEP, old_tokens // 20):
        return True
    # Cache reads are most of an agent's tokens and none of tokens_in: the usage by
    # model moves in the same coarse steps (a hook keeps the last usage: no change).
    old_usage = _usage_total(old)
    grown = _usage_total(new) - old_usage if new.usage else 0
    if grown and grown >= max(TOKEN_STEP, old_usage // 20):
        return True
    return new.last_activity - old.last_activity >= ACTIVITY_STEP_MS


def _usage_total(snapshot: SessionObserved) -> int:
    # The first four counts: the fifth (hour-long cache writes) is part of the third.
    return sum(sum(counts[:4]) for counts in snapshot.usage.values())


def hook_status(
    event: str,
    current: str,
    *,
    notification_type: str = "",
    background_tasks: int = 0,
    source: str = "",
) -> str:
    """The status a hook call means for a session whose status is ``current``.

    Only a notification that needs a person means waiting. A Stop while
    background tasks still run leaves the session at work. A SessionStart after
    a compaction happens inside a session's life, not at its start: it changes
    nothing that was known.
    """
    if event == "Notification":
        if notification_type in WAITING_NOTIFICATIONS:
            return "waiting"
        return "idle" if notification_type == "idle_prompt" else current
    if event == "Stop" and background_tasks > 0:
        return "busy"
    if event == "SessionStart" and source == "compact" and current not in ("", "ended"):
        return current
    return HOOK_STATUS.get(event, current)


def _snapshot(data: object, machine_id: str) -> SessionObserved:
    if not isinstance(data, dict):
        raise UsageError("snapshot must be a map of SessionObserved fields")
    try:
        event = decode(SessionObserved.kind, {**data, "host": machine_id})
    except ProtocolError as exc:
        raise UsageError(f"bad session snapshot: {exc}") from exc
    assert isinstance(event, SessionObserved)
    if not event.session or len(event.session) > MAX_SESSION_ID:
        raise UsageError(
            f"a session snapshot needs a session id of at most {MAX_SESSION_ID} characters"
        )
    # Every host stores and syncs the snapshot: bound what one poller may make it carry.
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str) and len(value) > MAX_SNAPSHOT_TEXT:
            raise UsageError(f"snapshot {f.name} is over {MAX_SNAPSHOT_TEXT} characters")
        if isinstance(value, int) and not 0 <= value <= MAX_SNAPSHOT_INT:
            raise UsageError(f"snapshot {f.name} must be between 0 and {MAX_SNAPSHOT_INT}")
    if len(event.usage) > MAX_USAGE_MODELS or any(
        len(model) > 200 or len(counts) > 5 or not all(0 <= n <= MAX_SNAPSHOT_INT for n in counts)
        for model, counts in event.usage.items()
    ):
        raise UsageError(
            f"snapshot usage must name at most {MAX_USAGE_MODELS} models, each with at most "
            f"5 counts from 0 to {MAX_SNAPSHOT_INT}"
        )
    return event


@decider(SessionObserve)
def _session_observe(cmd: SessionObserve, state: StateReader, ctx: Context) -> Decision:
    """Record what the poller saw of one session, unless it is no real change."""
    new = _snapshot(cmd.snapshot, ctx.machine_id)
    current = state.session(new.session)
    if current is not None:
        old = current.snapshot
        if not new.status:
            # The source cannot tell (a build without session files): the status is
            # what the hooks last said, except that a wait for a person is over once
            # the transcript moved on after it began (the dialog was answered; no
            # hook says so).
            if old.status == "waiting" and new.last_activity > old.last_activity:
                new = replace(new, status="busy", waiting_for="")
            else:
                new = replace(new, status=old.status, waiting_for=old.waiting_for)
        # The hook may have seen a later turn than the files the poller read.
        new = replace(new, last_activity=max(new.last_activity, old.last_activity))
    if current is not None and not significant_change(current.snapshot, new):
        return Decision([], {"session": new.session, "changed": False})
    return Decision([new], {"session": new.session, "changed": True})


@decider(SessionHook)
def _session_hook(cmd: SessionHook, state: StateReader, ctx: Context) -> Decision:
    """A Claude Code hook fired: update the session's status, record message deliveries.

    A hook call replayed late from the spool (older than what the session already
    shows) only records its deliveries: its status is no longer news.
    """
    session = cmd.session
    if not session:
        raise UsageError("a hook call needs the session id")
    hook_event, at = cmd.event, cmd.at
    events: list[DomainEvent] = []
    current = state.session(session)
    old = current.snapshot if current is not None else None
    if old is None or at >= old.last_activity:
        base = old or SessionObserved(session=session, host=ctx.machine_id, started_at=at)
        status = hook_status(
            hook_event,
            base.status,
            notification_type=cmd.notification_type,
            background_tasks=cmd.background_tasks,
            source=cmd.source,
        )
        changes: dict[str, Any] = {"status": status, "last_activity": at}
        changes["waiting_for"] = cmd.waiting_for if status == "waiting" else ""
        for name, value in (("cwd", cmd.cwd), ("project", cmd.project)):
            if value and not getattr(base, name):
                changes[name] = value
        if cmd.pid > 0 and not base.pid:
            changes["pid"] = cmd.pid
        if cmd.prompt and not base.first_prompt:
            changes["first_prompt"] = cmd.prompt[:500]
        new = replace(base, **changes)
        if significant_change(old, new):
            events.append(new)
    events.extend(deliveries(state, session, cmd.delivered, "hook", at))
    return Decision(events, {"session": session, "recorded": len(events)})


# --- claims -----------------------------------------------------------------------------


@decider(TaskClaim)
def _task_claim(cmd: TaskClaim, state: StateReader, ctx: Context) -> Decision:
    """Take the first candidate that is ready and not held by another session.

    ``candidates`` come in the caller's order of preference (priority first). A
    task already assigned to this session is started without a new assignment.
    """
    session = cmd.session
    if not session:
        raise UsageError("a claim needs the claiming session's id")
    author = cmd.author
    for task_id in cmd.candidates:
        task = state.task(task_id)
        if task is None or task.deleted or task.state != "todo":
            continue
        if task.assignee_kind == "session" and task.assignee != session:
            continue
        if any((dep := state.task(d)) is None or dep.state != "done" for d in task.depends_on):
            continue
        events: list[DomainEvent] = []
        if task.assignee_ref != f"session:{session}":
            events.append(
                TaskAssigned(
                    task=task.id,
                    assignee_kind="session",
                    assignee=session,
                    previous=task.assignee_ref,
                    claimed=True,
                    author=author,
                )
            )
        events.append(
            TaskStateChanged(task=task.id, state="in_progress", previous="todo", author=author)
        )
        return Decision([*usage_now(state, session, cmd.usage, ctx), *events], {"task": task.id})
    return Decision([], {"task": None})


def usage_now(
    state: StateReader, session: str, usage: dict[str, Any] | None, ctx: Context
) -> list[DomainEvent]:
    """A snapshot of the session with its usage as the caller just read it, to come first.

    Given by the session's own ``clare pull --claim`` and ``clare done`` (read from its
    transcript), it marks where its work on a task begins and ends, which the
    poller's coarser snapshots would blur (a task taken and finished in one turn).
    None when no usage was given or the session is not known here yet.
    """
    current = state.session(session)
    if usage is None or current is None or current.snapshot.host != ctx.machine_id:
        return []  # only the session's own host says what it has spent
    new = _snapshot({**snapshot_dict(current.snapshot), "usage": usage}, ctx.machine_id)
    return [] if _counts(new) == _counts(current.snapshot) else [new]


def _counts(snapshot: SessionObserved) -> dict[str, tuple[int, ...]]:
    # Decoded bodies hold lists where a poller's snapshot holds tuples.
    return {model: tuple(counts) for model, counts in snapshot.usage.items()}


# --- groups -----------------------------------------------------------------------------


def _member(ref: str) -> str:
    kind, _, name = ref.partition(":")
    if kind not in ("session", "host") or not name:
        raise UsageError(f"a group member is session:ID or host:NAME, not {ref!r}")
    return ref


@decider(GroupAdd)
def _group_add(cmd: GroupAdd, state: StateReader, ctx: Context) -> Decision:
    """Create a group, or add members to it (sessions as ``session:ID``, hosts as ``host:NAME``)."""
    name = ids.check_name(cmd.name, "group")
    added = [_member(m) for m in cmd.members]
    group = state.group(name)
    before = () if group is None or group.removed else group.members
    for ref in added:
        kind, _, key = ref.partition(":")
        if kind == "session" and state.session(key) is None:
            raise NotFound(f"no session {key}: see `clare session list --all`")
    members = tuple(dict.fromkeys((*before, *added)))
    if len(members) > MAX_MEMBERS:
        raise UsageError(f"a group holds at most {MAX_MEMBERS} members")
    if group is not None and not group.removed and members == before:
        return Decision([], {"group": name, "members": list(members)})
    return Decision(
        [GroupChanged(group=name, members=members)], {"group": name, "members": list(members)}
    )


@decider(GroupRemove)
def _group_remove(cmd: GroupRemove, state: StateReader, ctx: Context) -> Decision:
    """Remove members from a group, or the whole group when no member is named."""
    name = cmd.name
    group = state.group(name)
    if group is None or group.removed:
        raise NotFound(f"no group {name!r}")
    gone = cmd.members
    if not gone:
        return Decision([GroupChanged(group=name, removed=True)], {"group": name, "removed": True})
    missing = [m for m in gone if m not in group.members]
    if missing:
        raise NotFound(f"group {name!r} has no member {', '.join(missing)}")
    members = tuple(m for m in group.members if m not in gone)
    return Decision(
        [GroupChanged(group=name, members=members)], {"group": name, "members": list(members)}
    )


def snapshot_dict(snapshot: SessionObserved) -> dict[str, Any]:
    """A snapshot as the plain map ``session.observe`` takes."""
    return {f.name: getattr(snapshot, f.name) for f in dataclasses.fields(snapshot)}
