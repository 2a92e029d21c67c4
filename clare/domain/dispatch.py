"""Deciders of dispatch: asking a host to start or stop Claude Code, and its answers.

Exactly once (invariant 11). The request is an event with a client-made id, so
sending it twice records it once. Only its target host answers, through its
own writer, which serialises every command: ``dispatch.accept`` moves the
request from ``requested`` to ``accepted`` once, and its reply says whether
this call did it. The host acts only on a reply that says so, after the
acceptance is on disk. A request that arrives again (a second sync, a replay
after a restart, a healed partition) finds it accepted or settled already and
is not acted on; a request older than ``max_age_ms`` when its host first
sees it is refused, not started late. A host that dies between accepting and
acting does not act again after its restart: it refuses the request as
interrupted (at most once, never twice).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from clare.core.errors import NotFound, UsageError
from clare.domain.commands import (
    DispatchAccept,
    DispatchNoteLaunched,
    DispatchNoteStarted,
    DispatchNoteStopped,
    DispatchOffer,
    DispatchRefuse,
    DispatchRequest,
)
from clare.domain.decide import Context, Decision, StateReader, decider, need_task
from clare.domain.dispatch_events import (
    ACTIONS,
    DispatchAccepted,
    DispatchLaunched,
    DispatchOffered,
    DispatchRefused,
    DispatchRequested,
    DispatchStarted,
    DispatchStopped,
)
from clare.domain.events import DomainEvent, TaskAssigned, TaskStateChanged

if TYPE_CHECKING:
    from clare.domain.tasks import Task

_REQUEST_ID = re.compile(r"^d-[0-9a-f]{8,32}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: Claude Code's permission modes a host's owner may choose for dispatched sessions.
PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")


def live_holder(state: StateReader, task: Task) -> str:
    """The live session holding ``task``, or ""."""
    if task.assignee_kind != "session":
        return ""
    session = state.session(task.assignee)
    if session is None or session.snapshot.status == "ended":
        return ""
    return task.assignee


def not_ready(state: StateReader, task: Task) -> str:
    """Why ``task`` cannot be dispatched now, or "" when it can."""
    holder = live_holder(state, task)
    if holder:
        return f"task {task.id} already has a live session, {holder}"
    if task.state != "todo":
        return f"task {task.id} is {task.state}, not ready"
    waiting = [d for d in task.depends_on if (dep := state.task(d)) is None or dep.state != "done"]
    if waiting:
        return f"task {task.id} waits on {', '.join(waiting)}"
    return ""


def _request_id(request: str) -> str:
    if not _REQUEST_ID.match(request):
        raise UsageError(f"{request!r} is not a dispatch request id (d- and hex digits)")
    return request


@decider(DispatchRequest)
def _dispatch_request(cmd: DispatchRequest, state: StateReader, ctx: Context) -> Decision:
    request = _request_id(cmd.request)
    known = state.dispatch(request)
    if known is not None:
        return Decision([], {"request": request, "host": known.host})
    action, author = cmd.action, cmd.author
    if action not in ACTIONS:
        raise UsageError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    if action == "stop":
        session_id = cmd.session
        if not session_id:
            raise UsageError("a stop names the session to stop")
        session = state.session(session_id)
        if session is None:
            raise NotFound(f"no session {session_id}")
        if session.snapshot.status == "ended":
            raise UsageError(f"session {session_id} has ended already")
        event = DispatchRequested(
            request=request, action="stop", host=session.snapshot.host, session=session_id,
            author=author,
        )  # fmt: skip
        return Decision([event], {"request": request, "host": event.host})
    if not cmd.task:
        raise UsageError("a start names the task to dispatch")
    task = need_task(state, cmd.task)
    reason = not_ready(state, task)
    if reason:
        raise UsageError(f"cannot dispatch: {reason}")
    host_name = cmd.host
    host = ctx.machine_id
    if host_name:
        found = state.host_by_name(host_name)
        if found is not None:
            host = found.machine_id
        elif state.offer(host_name) is not None:  # a machine id, as the page sends it
            host = host_name
        else:
            raise NotFound(f"no host named {host_name!r} has synced with this one")
    name = cmd.name or f"clare-{task.id}"
    if not _NAME.match(name):
        raise UsageError(f"a session name is letters, digits, '.', '_' and '-', not {name!r}")
    event = DispatchRequested(
        request=request, action="start", host=host, task=task.id, name=name,
        worktree=cmd.worktree, author=author,
    )  # fmt: skip
    return Decision([event], {"request": request, "host": host})


def _mine(state: StateReader, request: str, ctx: Context) -> Any:
    request = _request_id(request)
    found = state.dispatch(request)
    if found is None:
        raise NotFound(f"no dispatch request {request}")
    if found.host != ctx.machine_id:
        raise UsageError(f"dispatch request {request} is for another host: only it answers")
    return found


def _refusal(state: StateReader, found: Any, reason: str, author: str) -> list[DomainEvent]:
    """The refusal of ``found``, and its task back to todo if its acceptance started it."""
    events: list[DomainEvent] = [DispatchRefused(request=found.id, reason=reason)]
    if found.action == "start" and found.state in ("accepted", "launched"):
        task = state.task(found.task)
        if task is not None and task.state == "in_progress" and not live_holder(state, task):
            events.append(
                TaskStateChanged(
                    task=task.id, state="todo", previous="in_progress",
                    note=f"dispatch {found.id} failed: {reason}", author=author,
                )
            )  # fmt: skip
    return events


@decider(DispatchAccept)
def _dispatch_accept(cmd: DispatchAccept, state: StateReader, ctx: Context) -> Decision:
    """Decide, once, whether this host acts on a request: ``accepted`` is True only for
    the call that moved it from requested to accepted."""
    found = _mine(state, cmd.request, ctx)
    if found.state != "requested":
        return Decision([], {"request": found.id, "accepted": False, "state": found.state})
    author = f"host:{ctx.machine_id}"
    age_ms = cmd.now_ms - (found.requested_hlc >> 16)
    reason, max_age_ms = cmd.refuse, cmd.max_age_ms
    if not reason and age_ms > max_age_ms:
        reason = (
            f"the request is {age_ms // 1000} s old, over this host's bound of "
            f"{max_age_ms // 1000} s: not started late"
        )
    task: Task | None = None
    if not reason and found.action == "start":
        task = state.task(found.task)
        reason = "its task no longer exists" if task is None else not_ready(state, task)
    if not reason and found.action == "stop":
        session = state.session(found.session)
        if session is None or session.snapshot.status == "ended":
            reason = f"session {found.session} has ended already"
    if reason:
        return Decision(
            _refusal(state, found, reason, author),
            {"request": found.id, "accepted": False, "state": "refused", "reason": reason},
        )
    events: list[DomainEvent] = [DispatchAccepted(request=found.id)]
    if task is not None:
        events.append(
            TaskStateChanged(
                task=task.id, state="in_progress", previous="todo",
                note=f"dispatched (request {found.id})", author=author,
            )
        )  # fmt: skip
    return Decision(events, {"request": found.id, "accepted": True, "state": "accepted"})


@decider(DispatchNoteLaunched)
def _dispatch_launched(cmd: DispatchNoteLaunched, state: StateReader, ctx: Context) -> Decision:
    found = _mine(state, cmd.request, ctx)
    if found.state != "accepted":
        return Decision([], {"request": found.id, "state": found.state})
    launched = DispatchLaunched(request=found.id, job_id=cmd.job_id)
    return Decision([launched], {"request": found.id})


@decider(DispatchNoteStarted)
def _dispatch_started(cmd: DispatchNoteStarted, state: StateReader, ctx: Context) -> Decision:
    """The session appeared: bind it to the request, and the task to the session."""
    found = _mine(state, cmd.request, ctx)
    session = cmd.session
    if found.state not in ("accepted", "launched"):
        return Decision([], {"request": found.id, "state": found.state})
    events: list[DomainEvent] = [DispatchStarted(request=found.id, session=session)]
    task = state.task(found.task)
    author = f"host:{ctx.machine_id}"
    if task is not None and task.assignee_ref != f"session:{session}":
        events.append(
            TaskAssigned(
                task=task.id, assignee_kind="session", assignee=session,
                previous=task.assignee_ref, author=author,
            )
        )  # fmt: skip
    if task is not None and task.state == "todo":
        events.append(
            TaskStateChanged(task=task.id, state="in_progress", previous="todo", author=author)
        )
    return Decision(events, {"request": found.id, "session": session})


@decider(DispatchNoteStopped)
def _dispatch_stopped(cmd: DispatchNoteStopped, state: StateReader, ctx: Context) -> Decision:
    found = _mine(state, cmd.request, ctx)
    if found.state != "accepted":
        return Decision([], {"request": found.id, "state": found.state})
    return Decision([DispatchStopped(request=found.id, how=cmd.how)], {"request": found.id})


@decider(DispatchRefuse)
def _dispatch_refuse(cmd: DispatchRefuse, state: StateReader, ctx: Context) -> Decision:
    """Acting failed, or was interrupted: settle the request with why."""
    found = _mine(state, cmd.request, ctx)
    reason = cmd.reason
    if found.state not in ("requested", "accepted", "launched"):
        return Decision([], {"request": found.id, "state": found.state})
    return Decision(
        _refusal(state, found, reason, f"host:{ctx.machine_id}"),
        {"request": found.id, "reason": reason},
    )


@decider(DispatchOffer)
def _dispatch_offer(cmd: DispatchOffer, state: StateReader, ctx: Context) -> Decision:
    """Publish what this host's owner allows; nothing is written when it did not change."""
    enabled, max_sessions, mode = cmd.enabled, cmd.max_sessions, cmd.permission_mode
    event = DispatchOffered(
        machine_id=ctx.machine_id, enabled=enabled, max_sessions=max_sessions,
        permission_mode=mode,
    )  # fmt: skip
    current = state.offer(ctx.machine_id)
    if current is not None and (
        current.enabled, current.max_sessions, current.permission_mode,
    ) == (enabled, max_sessions, mode):  # fmt: skip
        return Decision([], {"changed": False})
    return Decision([event], {"changed": True})
