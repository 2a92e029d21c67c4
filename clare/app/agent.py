"""What an agent asks of Clare from inside its session: who it is, its work, what to do next.

``clare pull`` (the CLI) and anything else that serves an agent call these, so
the rules live once: which session this is (:func:`current_session`), which
ready tasks it may claim (:func:`claim_candidates`: its own first, then its
host's, its groups' and its project's unassigned ones), which claims it lost to
another session after a sync (:func:`lost_claims`), and the one next step to
take (:func:`next_step`). :func:`pull` puts them together; the choice of a
claimed task is the writer's (``task.claim``), so two sessions never get one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, NotFound, UsageError
from clare.domain.commands import MessageDeliver, TaskClaim, TaskFinish
from clare.domain.states import OPEN_STATES
from clare.sessions.claude_home import claude_dir
from clare.store import eventlog, queries_sessions, queries_tasks

if TYPE_CHECKING:
    import sqlite3

    from clare.app.instance import Instance
    from clare.domain.targets import Recipient

MAX_CANDIDATES = 100
LOST_CLAIM_WINDOW_MS = 24 * 3600 * 1000


def claude_folder(inst: Instance) -> Path:
    """Claude Code's folder on this host: the configured one, else ``~/.claude``."""
    configured = inst.config.claude_config_dir
    return Path(configured).expanduser() if configured else claude_dir()


def current_session(inst: Instance, given: str | None) -> tuple[str, str]:
    """(session id, cwd hint) of the session a command is for."""
    if given:
        # A session the poller has not seen yet is taken by its id as given.
        with contextlib.suppress(NotFound):
            given = queries_sessions.resolve_session(inst.views(), given)
    from clare.sessions.hooked import hooked_dir
    from clare.sessions.whoami import identify  # here: most commands never need it

    identity = identify(claude_folder(inst), given=given, hooked=hooked_dir(inst.paths.data_dir))
    return identity.session, identity.cwd or os.getcwd()


def recipient(inst: Instance, views: sqlite3.Connection, session: str, cwd: str) -> Recipient:
    """Where the session belongs: project, host, groups."""
    config = inst.config
    from clare.app.recipients import recipient_for

    return recipient_for(
        views, session, machine_id=config.machine_id, host_name=config.name, cwd=cwd
    )


def claim_candidates(views: sqlite3.Connection, session: str, who: Recipient) -> list[str]:
    """Ready tasks this session may claim: its own first, then by priority."""
    mine, others = [], []
    allowed = {f"host:{who.host_name}", *(f"group:{g}" for g in who.groups)}
    for task in queries_tasks.list_tasks(views, state="ready"):
        assignee = task["assignee"]
        if assignee == f"session:{session}":
            mine.append(task["id"])
        elif assignee in allowed or (assignee is None and who.project == task["project"]):
            others.append(task["id"])
    return [*mine, *others][:MAX_CANDIDATES]


def lost_claims(
    views: sqlite3.Connection, events: sqlite3.Connection, session: str, now_ms: int
) -> list[dict[str, Any]]:
    """Recent claims by ``session`` that another session won (after a sync)."""
    lost = []
    for task_id, event_id, description, stamp in queries_tasks.lost_assignments(views):
        if now_ms - (stamp >> 16) > LOST_CLAIM_WINDOW_MS:
            continue
        from clare.domain.events import TaskAssigned
        from clare.domain.registry import decode_event  # the whole domain: only on a lost claim

        for event in eventlog.entity_events(events, task_id):
            if event.id != event_id:
                continue
            try:
                claim = decode_event(event)
            except ClareError:
                continue
            if isinstance(claim, TaskAssigned) and claim.claimed and claim.assignee == session:
                lost.append({"task": task_id, "description": description})
    return lost


def task_with_deps(views: sqlite3.Connection, task: dict[str, Any]) -> dict[str, Any]:
    """The task with each dependency's id, title and state."""
    deps = []
    for dep in task["depends_on"]:
        try:
            found = queries_tasks.get_task(views, None, dep)
            deps.append({"id": dep, "title": found["title"], "state": found["state"]})
        except NotFound:
            deps.append({"id": dep, "title": None, "state": "unknown"})
    return {**task, "dependencies": deps}


def next_step(
    tasks: list[dict[str, Any]],
    claimed: str | None,
    *,
    claim_tried: bool = False,
    project: str | None = "",
) -> str:
    """What the session should do next. ``project`` None: the session is in no project."""
    working = [t for t in tasks if t["state"] == "in_progress"]
    if working:
        t = working[0]
        return (
            f"Work on {t['id']} ({t['title']}). Report progress with `clare note {t['id']} TEXT`; "
            "when it is finished, run `clare done --note 'what you did'`."
        )
    ready = [t for t in tasks if t["state"] == "todo" and t["ready"]]
    if ready:
        return f"Start {ready[0]['id']} with `clare pull --claim`."
    if tasks:
        return "Your tasks wait on others (blocked, in review or dependencies not done)."
    if claimed is None and project is None:
        # Claiming would find nothing of a project: say how to get work instead.
        return (
            "Nothing is assigned to you, and this session's folder is no project's path: "
            "register it with `clare project update NAME --path DIR`, or have a task "
            "assigned to this session."
        )
    if claimed is None and claim_tried:
        return "Nothing is assigned to you and no task is ready to claim: nothing to do now."
    if claimed is None:
        return "Nothing is assigned to you. Run `clare pull --claim` to take the next ready task."
    return "Nothing to do right now."


def pull(inst: Instance, session_id: str, cwd: str, *, claim: bool, now_ms: int) -> dict[str, Any]:
    """The session's report: its tasks, its waiting messages (now delivered), lost claims,
    and the next step; with ``claim``, first the most urgent task it may take."""
    views = inst.views()
    who = recipient(inst, views, session_id, cwd)
    claimed: str | None = None
    if claim:
        result = inst.submit(
            TaskClaim(
                session=session_id,
                candidates=tuple(claim_candidates(views, session_id, who)),
                author=f"session:{session_id}",
                usage=session_usage(inst, session_id),
            )
        )
        claimed = result.get("task")
        views = inst.views()
    tasks = [
        task_with_deps(views, t)
        for t in queries_tasks.list_tasks(views, assignee=f"session:{session_id}")
        if t["state"] in OPEN_STATES
    ]
    from clare.app.recipients import pending_messages

    messages = pending_messages(views, who, now_ms)
    if messages:
        inst.submit(
            MessageDeliver(
                session=session_id, messages=tuple(m.id for m in messages), via="pull", at=now_ms
            )
        )
    return {
        "session": session_id,
        "project": who.project or None,
        "host": who.host_name,
        "claimed": claimed,
        "tasks": tasks,
        "messages": [
            {"id": m.id, "text": m.text, "author": m.author, "target": m.target} for m in messages
        ],
        "lost_claims": lost_claims(views, inst.events(), session_id, now_ms),
        "next": next_step(tasks, claimed, claim_tried=claim, project=who.project or None),
    }


def finish(inst: Instance, session_id: str, cwd: str, note: str) -> dict[str, Any]:
    """The session's current task finished: to review or done (its project decides), with
    the git record of the work read here, in the session's folder, on the session's host."""
    current = queries_sessions.session_tasks(inst.views()).get(session_id)
    if current is None:
        raise UsageError(f"session {session_id} has no open task: see `clare pull`")
    from clare.app.work import read_work

    work = read_work(cwd)
    result = inst.submit(
        TaskFinish(
            task=current[0],
            session=session_id,
            note=note,
            author=f"session:{session_id}",
            work=work.to_args(),
            usage=session_usage(inst, session_id),
        )
    )
    return {**result, "work": work.to_args()}


#: A transcript larger than this is not read by the CLI: the poller's snapshots stand.
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024


def session_usage(inst: Instance, session_id: str) -> dict[str, list[int]] | None:
    """The session's usage so far by model, read from its transcript now; None if unread.

    Sent with a claim and a finish, it bounds the session's work on the task
    exactly, where the poller's snapshots are a turn apart.
    """
    from clare.sessions.transcript import TranscriptParser
    from clare.sessions.transcript_summary import TranscriptSummary

    found = sorted(claude_folder(inst).glob(f"projects/*/{session_id}.jsonl"))
    try:
        if not found or found[0].stat().st_size > MAX_TRANSCRIPT_BYTES:
            return None
        data = found[0].read_bytes()
    except OSError:
        return None
    parser = TranscriptParser()
    summary = TranscriptSummary()
    summary.add_all(parser.feed(data))
    summary.add_all(parser.flush())
    return {model: list(counts) for model, counts in summary.usage_counts().items()}
