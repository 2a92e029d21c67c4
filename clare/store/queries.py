"""Reads for the CLI and the web page: rows in, plain dicts with stable field names out.

These dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field here and every script that reads it breaks, so add fields, never
rename them.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from clare import hlc, ids
from clare.domain.fold import decode_event
from clare.errors import ClareError, NotFound
from clare.store import eventlog

if TYPE_CHECKING:
    import sqlite3

    from clare.events import Event


def iso(stamp_or_ms: int, *, is_hlc: bool = True) -> str | None:
    if not stamp_or_ms:
        return None
    ms = hlc.unpack(stamp_or_ms)[0] if is_hlc else stamp_or_ms
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")


def done_task_ids(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM tasks WHERE state = 'done'")}


def _task_dict(row: sqlite3.Row | tuple[Any, ...], done: set[str]) -> dict[str, Any]:
    (
        task_id, project, title, body, priority, tags, depends_on, state,
        assignee_kind, assignee, created_at, updated_at, notes, _fold,
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
    }


def list_tasks(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    state: str | None = None,
    assignee: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    where, args = [], []
    if project:
        where.append("project = ?")
        args.append(project)
    if state and state != "ready":
        where.append("state = ?")
        args.append(state)
    elif state == "ready":
        where.append("state = 'todo'")
    if assignee:
        kind, _, name = assignee.partition(":")
        where.append("assignee_kind = ? AND assignee = ?")
        args += [kind, name]
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT * FROM tasks {clause} ORDER BY priority DESC, created_at", args
    ).fetchall()
    done = done_task_ids(conn)
    tasks = [_task_dict(r, done) for r in rows]
    if state == "ready":
        tasks = [t for t in tasks if t["ready"]]
    return tasks[:limit] if limit is not None else tasks


def resolve_task(conn: sqlite3.Connection, prefix: str) -> str:
    prefix = prefix.strip()
    if not prefix.startswith(ids.TASK_PREFIX):
        prefix = ids.TASK_PREFIX + prefix
    upper = prefix + "\uffff"
    rows = conn.execute("SELECT id FROM tasks WHERE id >= ? AND id < ?", (prefix, upper))
    return ids.resolve_prefix(prefix, [r[0] for r in rows], "task")


def get_task(
    views: sqlite3.Connection, events: sqlite3.Connection | None, task_id: str
) -> dict[str, Any]:
    row = views.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
    if row is None:
        raise NotFound(f"no task {task_id}")
    task = _task_dict(row, done_task_ids(views))
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
    task["history"] = (
        [event_dict(e) for e in eventlog.entity_events(events, task_id)] if events else []
    )
    return task


def event_dict(event: Event, host_names: dict[str, str] | None = None) -> dict[str, Any]:
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
        "SELECT project, state, COUNT(*) FROM tasks GROUP BY project, state"
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
        }
        for name, description, paths, created_at, updated_at, _h, _o in conn.execute(
            "SELECT * FROM projects ORDER BY name"
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


def list_hosts(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"machine_id": m, "name": n, "groups": json.loads(g), "last_seen": iso(h)}
        for m, n, g, h, _o in conn.execute("SELECT * FROM hosts ORDER BY name")
    ]


def task_counts(conn: sqlite3.Connection) -> dict[str, int]:
    counts = dict(conn.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state"))
    done = done_task_ids(conn)
    ready = 0
    for (deps,) in conn.execute("SELECT depends_on FROM tasks WHERE state = 'todo'"):
        if all(d in done for d in json.loads(deps)):
            ready += 1
    counts["ready"] = ready
    return counts


def event_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT kind, n FROM counts ORDER BY kind"))


def resolve_session(conn: sqlite3.Connection, prefix: str) -> str:
    rows = conn.execute(
        "SELECT id FROM sessions WHERE id >= ? AND id < ?", (prefix, prefix + "\uffff")
    )
    return ids.resolve_prefix(prefix, [r[0] for r in rows], "session")
