"""Reads of the sessions view: sessions as the CLI and the page show them, and the
records the session poller, the dispatcher and the status counts need.

The dicts (each session with its current task; one session with its tasks,
dispatches and the messages it was given) are the JSON contract of ``--json``
and of ``/api/v1``: rename a field and every script that reads it breaks, so
add fields, never rename them. The records are one host's live sessions with
the tasks its ended sessions still hold, how a session's host reaches its
process, and the live sessions counted by status. What the hook reads of a
session is in :mod:`clare.store.queries_recipients` (standard library only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clare.core import ids
from clare.core.errors import NotFound, UsageError
from clare.domain.events import SessionObserved, decode
from clare.store.position import position
from clare.store.queries_common import iso
from clare.store.queries_dispatch import list_dispatches
from clare.store.queries_hosts import host_names
from clare.store.queries_recipients import project_paths
from clare.store.queries_tasks import list_tasks
from clare.store.sqlite import reading

if TYPE_CHECKING:
    import sqlite3


def resolve_session(conn: sqlite3.Connection, prefix: str) -> str:
    if not prefix.strip():
        raise UsageError("give a session id (or the start of one)")
    rows = conn.execute(
        "SELECT id FROM sessions WHERE id >= ? AND id < ?", (prefix, prefix + "\uffff")
    )
    return ids.resolve_prefix(prefix, [r[0] for r in rows], "session")


#: Task states that make a task a session's current one, most current first.
_CURRENT_STATES = ("in_progress", "review", "blocked", "todo")


def _session_dict(
    snapshot_json: str, names: dict[str, str], tasks: dict[str, tuple[str, str, str]]
) -> dict[str, Any]:
    snap = json.loads(snapshot_json)
    session_id = snap["session"]
    task = tasks.get(session_id)
    return {
        "id": session_id,
        "host": names.get(snap["host"], snap["host"]),
        "machine_id": snap["host"],
        "pid": snap.get("pid") or None,
        "name": snap.get("name") or None,
        "cwd": snap.get("cwd") or None,
        "project": snap.get("project") or None,
        "branch": snap.get("branch") or None,
        "status": snap.get("status") or "unknown",
        "waiting_for": snap.get("waiting_for") or None,
        "version": snap.get("version") or None,
        "model": snap.get("model") or None,
        "title": snap.get("title") or None,
        "first_prompt": snap.get("first_prompt") or None,
        "started_at": iso(snap.get("started_at", 0), is_hlc=False),
        "last_activity": iso(snap.get("last_activity", 0), is_hlc=False),
        "tokens": snap.get("tokens_in", 0) + snap.get("tokens_out", 0),
        "tokens_in": snap.get("tokens_in", 0),
        "tokens_out": snap.get("tokens_out", 0),
        "usage": snap.get("usage") or {},
        "tmux_pane": snap.get("tmux_pane") or None,
        "source": snap.get("source") or None,
        "kind": snap.get("session_kind") or None,
        "job_id": snap.get("job_id") or None,
        "permission_mode": snap.get("permission_mode") or None,
        "task": task[0] if task else None,
        "task_title": task[1] if task else None,
        "task_state": task[2] if task else None,
    }


def session_tasks(conn: sqlite3.Connection) -> dict[str, tuple[str, str, str]]:
    """Each session's current task as (id, title, state): in progress first, then priority."""
    rank = {state: i for i, state in enumerate(_CURRENT_STATES)}
    best: dict[str, tuple[int, int, str, str, str]] = {}
    for task_id, title, state, priority, session in conn.execute(
        "SELECT id, title, state, priority, assignee FROM tasks "
        "WHERE assignee_kind = 'session' AND deleted = 0 AND state IN (?, ?, ?, ?)",
        _CURRENT_STATES,
    ):
        key = (rank[state], -priority, task_id, title, state)
        if session not in best or key < best[session]:
            best[session] = key
    return {s: (k[2], k[3], k[4]) for s, k in best.items()}


def list_sessions(
    conn: sqlite3.Connection,
    *,
    host: str | None = None,
    project: str | None = None,
    include_ended: bool = False,
) -> list[dict[str, Any]]:
    """Sessions, live ones only unless ``include_ended``; most recently active first."""
    where, args = [], []
    if not include_ended:
        where.append("status != 'ended'")
    if project:
        where.append("project = ?")
        args.append(project)
    names = host_names(conn)
    if host:
        machine_ids = [m for m, n in names.items() if host in (n, m)] or [host]
        where.append(f"host IN ({', '.join('?' * len(machine_ids))})")
        args += machine_ids
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT snapshot FROM sessions {clause} ORDER BY last_activity DESC, id", args
    ).fetchall()
    if not rows:
        return []  # no session to name a task for: spare the scan of every task
    tasks = session_tasks(conn)
    return [_session_dict(r[0], names, tasks) for r in rows]


def get_session(conn: sqlite3.Connection, session_id: str) -> dict[str, Any]:
    """One session with its assigned tasks and the messages delivered to it."""
    row = conn.execute("SELECT snapshot FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(f"no session {session_id}")
    session = _session_dict(row[0], host_names(conn), session_tasks(conn))
    session["tasks"] = list_tasks(conn, assignee=f"session:{session_id}")
    session["dispatches"] = list_dispatches(conn, session=session_id)
    session["messages"] = [
        {"id": m, "text": t, "via": v, "delivered_at": iso(at, is_hlc=False)}
        for m, t, v, at in conn.execute(
            "SELECT d.message, m.text, d.via, d.at FROM deliveries d "
            "JOIN messages m ON m.id = d.message WHERE d.session = ? ORDER BY d.at",
            (session_id,),
        )
    ]
    return session


@dataclass(frozen=True)
class HostSessions:
    """One host's place in the views, read in one snapshot so the position matches the rows."""

    position: int
    project_paths: dict[str, str]
    live: tuple[SessionObserved, ...]  # the host's sessions that have not ended
    #: Tasks still held by the host's ended sessions, by session: the leases to release.
    held: dict[str, list[str]]


def host_sessions(conn: sqlite3.Connection, machine_id: str) -> HostSessions:
    """The views' position, project paths on ``machine_id`` and its live sessions.

    Raises StorageError or ``ValueError`` while the views are being migrated
    (the caller tries again on its next pass).
    """
    with reading("the sessions of this host"):
        conn.execute("BEGIN")  # one snapshot: the position matches the rows
        try:
            seq = position(conn)
            paths = project_paths(conn, machine_id)
            live = []
            for (raw,) in conn.execute(
                "SELECT snapshot FROM sessions WHERE host = ? AND status != 'ended'", (machine_id,)
            ):
                snap = decode(SessionObserved.kind, json.loads(raw))
                if isinstance(snap, SessionObserved):
                    live.append(snap)
            held = held_by_ended_sessions(conn, machine_id)
        finally:
            conn.execute("COMMIT")
    return HostSessions(seq, paths, tuple(live), held)


def held_by_ended_sessions(conn: sqlite3.Connection, machine_id: str) -> dict[str, list[str]]:
    """Tasks still to do or in progress under a session of this host that has ended,
    by session: the leases its host must release (``task.release``)."""
    held: dict[str, list[str]] = {}
    for session, task in conn.execute(
        "SELECT t.assignee, t.id FROM tasks t JOIN sessions s ON s.id = t.assignee "
        "WHERE t.assignee_kind = 'session' AND t.deleted = 0 "
        "AND t.state IN ('todo', 'in_progress') AND s.host = ? AND s.status = 'ended' "
        "ORDER BY t.id",
        (machine_id,),
    ):
        held.setdefault(session, []).append(task)
    return held


@dataclass(frozen=True)
class SessionProcess:
    """How a session's host reaches its Claude Code: a background job, or a process."""

    kind: str  # "bg" for a background session, else "" or what Claude Code says
    job_id: str
    pid: int


def session_process(conn: sqlite3.Connection, session_id: str) -> SessionProcess | None:
    """The session's job id and pid as its last snapshot says, None if it is not known."""
    with reading("the session's process"):
        row = conn.execute("SELECT snapshot FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    snap = json.loads(row[0])
    return SessionProcess(
        str(snap.get("session_kind") or ""),
        str(snap.get("job_id") or ""),
        int(snap.get("pid") or 0),
    )


def live_status_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """How many sessions that have not ended are in each status ("unknown" for none)."""
    # Counting needs no session records: building a thousand of them made
    # /api/v1/status answer 13 times a second.
    by_status: dict[str, int] = {}
    for status_name, n in conn.execute(
        "SELECT status, COUNT(*) FROM sessions WHERE status != 'ended' GROUP BY status"
    ):
        by_status[status_name or "unknown"] = by_status.get(status_name or "unknown", 0) + n
    return by_status
