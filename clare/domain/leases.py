"""Claims are leases: a task held by a session that ended goes back to the ready queue.

A task claimed by, assigned to or dispatched to a session stays with it only
while the session lives. Only the session's own host may say it ended (it sees
the process and the session file go; another host would only be guessing from
a sync that may lag), so only that host's writer takes ``task.release``: its
poller lists candidates from the views, and this decider checks each against
the writer's current state. An in-progress task goes back to todo and loses its
assignee; a todo task only loses its assignee; a task in review, blocked or
finished keeps both, since its work is not waiting to be picked up again.
Each change carries a note that says why.
"""

from __future__ import annotations

from clare.core.errors import UsageError
from clare.domain.commands import TaskRelease
from clare.domain.decide import Context, Decision, StateReader, decider
from clare.domain.events import DomainEvent, TaskNoted, TaskStateChanged, TaskUnassigned

#: The states a dead session's task is taken back from.
RELEASED_STATES = ("todo", "in_progress")


@decider(TaskRelease)
def _task_release(cmd: TaskRelease, state: StateReader, ctx: Context) -> Decision:
    """Release the candidate tasks still held by ``session``, which ended on this host."""
    session_id = cmd.session
    session = state.session(session_id)
    if session is None or session.snapshot.status != "ended":
        raise UsageError(f"session {session_id} has not ended: its tasks stay with it")
    if session.snapshot.host != ctx.machine_id:
        raise UsageError(f"session {session_id} ran on another host: that host releases its tasks")
    author = f"host:{ctx.machine_id}"
    why = f"released: session {session_id} ended"
    events: list[DomainEvent] = []
    released = []
    for task_id in cmd.candidates:
        task = state.task(task_id)
        if task is None or task.deleted or task.assignee_ref != f"session:{session_id}":
            continue
        if task.state not in RELEASED_STATES:
            continue
        if task.state == "in_progress":
            events.append(
                TaskStateChanged(
                    task=task.id, state="todo", previous="in_progress", note=why, author=author
                )
            )
        events.append(TaskUnassigned(task=task.id, previous=task.assignee_ref, author=author))
        events.append(TaskNoted(task=task.id, text=why, author=author))
        released.append(task.id)
    return Decision(events, {"session": session_id, "released": released})
