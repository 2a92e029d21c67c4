"""Reads for the CLI and the web page: rows in, plain dicts with stable field names out.

These dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field here and every script that reads it breaks, so add fields, never
rename them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from clare.core import hlc, ids
from clare.core.errors import ClareError, NotFound, UsageError
from clare.store import eventlog

if TYPE_CHECKING:
    import sqlite3

    from clare.core.events import Event


def iso(stamp_or_ms: int, *, is_hlc: bool = True) -> str | None:
    if not stamp_or_ms:
        return None
    ms = hlc.unpack(stamp_or_ms)[0] if is_hlc else stamp_or_ms
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def done_task_ids(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM tasks WHERE state = 'done' AND deleted = 0")}


def _task_dict(row: sqlite3.Row | tuple[Any, ...], done: set[str]) -> dict[str, Any]:
    (
        task_id, project, title, body, priority, tags, depends_on, state,
        assignee_kind, assignee, created_at, updated_at, notes, _fold, deleted,
    ) = row  # fmt: skip
    deps = json.loads(depends_on)
    return {
        "id": task_id,
        "title": title,
        "project": project,
        "state": state,
        "ready": state == "todo" and all(d in done for d in deps),
        "priority": priority,
        "tags": json.loads(tags),
        "depends_on": deps,
        "assignee": f"{assignee_kind}:{assignee}" if assignee else None,
        "created_at": iso(created_at),
        "updated_at": iso(updated_at),
        "body": body,
        "notes": notes,
        "deleted": bool(deleted),
    }


#: States a task leaves the board and the default list in, once old enough.
ARCHIVED_STATES = ("done", "cancelled")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_tasks(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    limit: int | None = None,
    search: str | None = None,
    tag: str | None = None,
    archived_before: int | None = None,
) -> list[dict[str, Any]]:
    """Tasks, most urgent first, filtered.

    ``assignee`` is ``kind:name``, or a bare name of any kind; ``search`` finds
    words in the id, title or body (case-insensitive); ``archived_before`` leaves
    out done and cancelled tasks last changed before that HLC stamp.
    """
    where: list[str] = ["deleted = 0"]
    args: list[Any] = []
    if project:
        where.append("project = ?")
        args.append(project)
    if state and state != "ready":
        where.append("state = ?")
        args.append(state)
    elif state == "ready":
        where.append("state = 'todo'")
    if assignee:
        kind, sep, name = assignee.partition(":")
        if sep and kind in ("session", "host", "group"):
            where.append("assignee_kind = ? AND assignee = ?")
            args += [kind, name]
        else:
            where.append("assignee = ?")
            args.append(assignee)
    for word in (search or "").split():
        where.append(
            "(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')"
        )
        args += [_like(word)] * 3
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(tasks.tags) WHERE value = ?)")
        args.append(tag)
    if archived_before is not None:
        where.append(f"NOT (state IN {ARCHIVED_STATES!r} AND updated_at < ?)")
        args.append(archived_before)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT * FROM tasks {clause} ORDER BY priority DESC, created_at", args
    ).fetchall()
    done = done_task_ids(conn)
    tasks = [_task_dict(r, done) for r in rows]
    if state == "ready":
        tasks = [t for t in tasks if t["ready"]]
    return tasks[:limit] if limit is not None else tasks


def resolve_task(conn: sqlite3.Connection, prefix: str, *, deleted_too: bool = False) -> str:
    """The task an id prefix names; a deleted task only if ``deleted_too`` (to show it)."""
    prefix = prefix.strip()
    if prefix in ("", ids.TASK_PREFIX):
        raise UsageError("give a task id (or the start of one)")
    if not prefix.startswith(ids.TASK_PREFIX):
        prefix = ids.TASK_PREFIX + prefix
    upper = prefix + "\uffff"
    rows = conn.execute(
        "SELECT id, deleted FROM tasks WHERE id >= ? AND id < ?", (prefix, upper)
    ).fetchall()
    live = [task_id for task_id, deleted in rows if deleted_too or not deleted]
    if not live and rows:
        gone = ids.resolve_prefix(prefix, [r[0] for r in rows], "task")
        raise NotFound(f"task {gone} was deleted (`clare task show {gone}` shows its history)")
    return ids.resolve_prefix(prefix, live, "task")


def get_task(
    views: sqlite3.Connection, events: sqlite3.Connection | None, task_id: str
) -> dict[str, Any]:
    row = views.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise NotFound(f"no task {task_id}")
    task = _task_dict(row, done_task_ids(views))
    # What it waits for, and in which state: a cancelled dependency (or one never
    # seen here) keeps a task from being ready for good, and the person must be told.
    states = {
        dep: "deleted" if deleted else state
        for dep, state, deleted in views.execute(
            f"SELECT id, state, deleted FROM tasks WHERE id IN "
            f"({', '.join('?' * len(task['depends_on']))})",
            task["depends_on"],
        )
    }
    task["waiting_on"] = [
        {"task": dep, "state": states.get(dep)}
        for dep in task["depends_on"]
        if states.get(dep) != "done"
    ]
    task["conflicts"] = [
        {
            "event_id": c[0],
            "winner_event_id": c[2],
            "field": c[3],
            "description": c[4],
            "applied": bool(c[5]),
            "at": iso(c[6]),
        }
        for c in views.execute(
            "SELECT * FROM conflicts WHERE task = ? ORDER BY hlc", (task_id,)
        ).fetchall()
    ]
    task["dispatches"] = list_dispatches(views, task=task_id)
    names = host_names(views)
    task["history"] = (
        [event_dict(e, names) for e in eventlog.entity_events(events, task_id)] if events else []
    )
    task["work"] = work_of(task["history"], names)
    return task


def work_of(history: list[dict[str, Any]], host_names: dict[str, str]) -> dict[str, Any] | None:
    """The newest work record among a task's events, its lines expanded; None if none."""
    from clare.domain.work import parse_commit_line, parse_file_line

    for e in reversed(history):
        data = e["data"]
        if e["kind"] != "TaskWorkRecorded" or data is None:
            continue
        files = [f for f in map(parse_file_line, data["files"]) if f is not None]
        return {
            **data,
            "host_name": host_names.get(data["host"]),
            "at": e["at"],
            "commits": [
                {"hash": h, "subject": subject}
                for h, subject in map(parse_commit_line, data["commits"])
            ],
            "files": [{"path": f.path, "added": f.added, "deleted": f.deleted} for f in files],
        }
    return None


def event_dict(event: Event, host_names: dict[str, str] | None = None) -> dict[str, Any]:
    from clare.domain.registry import decode_event  # the whole domain: only when events are shown

    try:
        data: dict[str, Any] | None = decode_event(event).to_body()
    except ClareError:
        data = None
    return {
        "seq": event.seq,
        "id": event.id,
        "kind": event.kind,
        "origin": event.origin,
        "host": (host_names or {}).get(event.origin),
        "origin_seq": event.origin_seq,
        "hlc": event.hlc,
        "at": iso(event.hlc),
        "data": data,
    }


def list_projects(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for project, state, n in conn.execute(
        "SELECT project, state, COUNT(*) FROM tasks WHERE deleted = 0 GROUP BY project, state"
    ):
        counts.setdefault(project, {})[state] = n
    return [
        {
            "name": name,
            "description": description,
            "paths": json.loads(paths),
            "created_at": iso(created_at),
            "updated_at": iso(updated_at),
            "tasks": counts.get(name, {}),
            "review": bool(review),
        }
        for name, description, paths, created_at, updated_at, review in conn.execute(
            "SELECT name, description, paths, created_at, updated_at, review FROM projects "
            "WHERE deleted = 0 ORDER BY name"
        )
    ]


def get_project(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    for project in list_projects(conn):
        if project["name"] == name:
            project["task_list"] = list_tasks(conn, project=name)
            return project
    raise NotFound(f"no project {name!r}")


def host_names(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT machine_id, name FROM hosts"))


def list_hosts(
    conn: sqlite3.Connection, events: sqlite3.Connection | None = None
) -> list[dict[str, Any]]:
    """Known hosts. ``named_at`` is when the host last took its name; ``last_seen`` is
    the stamp of its newest event here when ``events`` is given (else ``named_at``)."""
    hosts = []
    for m, n, g, h, _o in conn.execute("SELECT * FROM hosts ORDER BY name"):
        seen = h
        if events is not None:
            # The top origin_seq is read through the (origin, origin_seq) index.
            row = events.execute(
                "SELECT hlc FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1", (m,)
            ).fetchone()
            seen = max(h, row[0]) if row else h
        hosts.append(
            {
                "machine_id": m,
                "name": n,
                "groups": json.loads(g),
                "last_seen": iso(seen),
                "named_at": iso(h),
            }
        )
    return hosts


def task_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Tasks by state, and how many are ready.

    Ready is a todo task none of whose dependencies is anything but done (a
    dependency this host has never seen counts as not done). Counted in SQL:
    decoding every task's JSON made the status page slow at 10,000 tasks.
    """
    counts: dict[str, int] = dict(
        conn.execute("SELECT state, COUNT(*) FROM tasks WHERE deleted = 0 GROUP BY state")
    )
    counts["ready"] = int(
        conn.execute(
            "SELECT COUNT(*) FROM tasks t WHERE t.state = 'todo' AND t.deleted = 0 AND NOT EXISTS ("
            " SELECT 1 FROM json_each(t.depends_on) d LEFT JOIN tasks u ON u.id = d.value"
            " WHERE u.state IS NOT 'done' OR u.deleted = 1)"
        ).fetchone()[0]
    )
    return counts


def event_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT kind, n FROM counts ORDER BY kind"))


def set_aside_count(conn: sqlite3.Connection) -> int:
    """How many events the projector set aside (it could not fold them)."""
    return int(conn.execute("SELECT COUNT(*) FROM set_aside").fetchone()[0])


def set_aside(conn: sqlite3.Connection, limit: int = 50) -> dict[int, dict[str, Any]]:
    """The newest events set aside, by seq: their id, kind and why."""
    rows = conn.execute(
        "SELECT seq, id, kind, reason FROM set_aside ORDER BY seq DESC LIMIT ?", (limit,)
    )
    return {seq: {"seq": seq, "id": i, "kind": k, "reason": r} for seq, i, k, r in rows}


def set_aside_between(conn: sqlite3.Connection, first: int, last: int) -> dict[int, dict[str, Any]]:
    """The events set aside with a seq from ``first`` to ``last``, by seq."""
    rows = conn.execute(
        "SELECT seq, id, kind, reason FROM set_aside WHERE seq BETWEEN ? AND ?", (first, last)
    )
    return {seq: {"seq": seq, "id": i, "kind": k, "reason": r} for seq, i, k, r in rows}


def resolve_session(conn: sqlite3.Connection, prefix: str) -> str:
    if not prefix.strip():
        raise UsageError("give a session id (or the start of one)")
    rows = conn.execute(
        "SELECT id FROM sessions WHERE id >= ? AND id < ?", (prefix, prefix + "\uffff")
    )
    return ids.resolve_prefix(prefix, [r[0] for r in rows], "session")


# --- sessions, messages, groups -----------------------------------------------------------

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


def list_groups(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"name": name, "members": json.loads(members)}
        for name, members in conn.execute(
            "SELECT name, members FROM groups_ WHERE removed = 0 ORDER BY name"
        )
    ]


def _message_dict(row: tuple[Any, ...], delivered: list[dict[str, Any]]) -> dict[str, Any]:
    message_id, target, text, author, sent_at, expires_at, _sent_hlc, _h, _o = row
    return {
        "id": message_id,
        "target": target,
        "text": text,
        "author": author,
        "sent_at": iso(sent_at, is_hlc=False),
        "expires_at": iso(expires_at, is_hlc=False),
        "deliveries": delivered,
    }


def list_messages(
    conn: sqlite3.Connection, *, session: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Messages, newest first, with their deliveries (only to ``session`` if given)."""
    rows = conn.execute(
        "SELECT * FROM messages WHERE target != '' ORDER BY sent_hlc DESC LIMIT ?", (limit,)
    ).fetchall()
    out = []
    for row in rows:
        args: list[Any] = [row[0]]
        extra = ""
        if session:
            extra = " AND session = ?"
            args.append(session)
        delivered = [
            {"session": s, "via": v, "at": iso(at, is_hlc=False)}
            for s, v, at in conn.execute(
                f"SELECT session, via, at FROM deliveries WHERE message = ?{extra} ORDER BY at",
                args,
            )
        ]
        out.append(_message_dict(row, delivered))
    return out


def lost_assignments(conn: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
    """(task, losing event id, description, hlc) of every assignment that lost a race."""
    return [
        (str(task), str(event_id), str(description), int(stamp))
        for task, event_id, description, stamp in conn.execute(
            "SELECT task, event_id, description, hlc FROM conflicts "
            "WHERE field = 'assignee' AND applied = 0"
        )
    ]


# --- dispatch ---------------------------------------------------------------------------

#: Dispatch states that take a place on their host: being started, or started and live.
_BUSY_DISPATCH = (
    "(d.state IN ('accepted', 'launched') OR (d.state = 'started' AND s.status != 'ended'))"
)


def dispatch_load(conn: sqlite3.Connection, machine_id: str) -> int:
    """Dispatched sessions on a host now: those being started and those still live."""
    row = conn.execute(
        "SELECT COUNT(*) FROM dispatches d LEFT JOIN sessions s ON s.id = d.session "
        f"WHERE d.action = 'start' AND d.host = ? AND {_BUSY_DISPATCH}",
        (machine_id,),
    ).fetchone()
    return int(row[0])


def _dispatch_dict(text: str, names: dict[str, str]) -> dict[str, Any]:
    data = json.loads(text)
    return {
        "id": data["id"],
        "action": data["action"],
        "host": names.get(data["host"], data["host"]),
        "machine_id": data["host"],
        "task": data["task"] or None,
        "session": data["session"] or None,
        "name": data["name"],
        "worktree": data["worktree"],
        "state": data["state"],
        "job_id": data["job_id"] or None,
        "reason": data["reason"] or None,
        "author": data["author"],
        "requested_at": iso(data["requested_hlc"]),
        "updated_at": iso(data["updated_hlc"]),
    }


def list_dispatches(
    conn: sqlite3.Connection,
    *,
    task: str | None = None,
    session: str | None = None,
    machine_id: str | None = None,
    states: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Dispatch requests, newest first, filtered by task, session, host or state."""
    where, args = [], []
    for column, value in (("task", task), ("session", session), ("host", machine_id)):
        if value:
            where.append(f"{column} = ?")
            args.append(value)
    if states:
        where.append(f"state IN ({', '.join('?' * len(states))})")
        args += states
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    names = host_names(conn)
    rows = conn.execute(
        f"SELECT state_json FROM dispatches {clause} ORDER BY last_hlc DESC, id", args
    ).fetchall()
    return [_dispatch_dict(r[0], names) for r in rows]


def get_dispatch(conn: sqlite3.Connection, request: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT state_json FROM dispatches WHERE id = ?", (request,)).fetchone()
    return None if row is None else _dispatch_dict(row[0], host_names(conn))


def dispatch_hosts(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every host's dispatch offer, with its free places as this host's copy shows them."""
    names = host_names(conn)
    hosts = []
    for machine, enabled, most, mode, _h, _o in conn.execute("SELECT * FROM dispatch_offers"):
        load = dispatch_load(conn, machine)
        hosts.append(
            {
                "host": names.get(machine, machine),
                "machine_id": machine,
                "enabled": bool(enabled),
                "max_sessions": most,
                "running": load,
                "free": max(0, most - load) if enabled else 0,
                "permission_mode": mode,
            }
        )
    return sorted(hosts, key=lambda h: str(h["host"]))


def session_of_job(conn: sqlite3.Connection, machine_id: str, job_id: str) -> str | None:
    """The session Claude Code's background job ``job_id`` runs on a host, once seen."""
    row = conn.execute(
        "SELECT id FROM sessions WHERE host = ? AND json_extract(snapshot, '$.job_id') = ?",
        (machine_id, job_id),
    ).fetchone()
    return None if row is None else str(row[0])
