"""Reads of the tasks view for the CLI and the page: the task list, one task with what it
waits on, its conflicts, dispatches, history and work, the counts by state, and the
assignments that lost a race.

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from clare.core import ids
from clare.core.errors import NotFound, UsageError
from clare.store import eventlog
from clare.store.queries_common import iso
from clare.store.queries_dispatch import list_dispatches
from clare.store.queries_events import event_dict
from clare.store.queries_hosts import host_names

if TYPE_CHECKING:
    import sqlite3


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


def lost_assignments(conn: sqlite3.Connection) -> list[tuple[str, str, str, int]]:
    """(task, losing event id, description, hlc) of every assignment that lost a race."""
    return [
        (str(task), str(event_id), str(description), int(stamp))
        for task, event_id, description, stamp in conn.execute(
            "SELECT task, event_id, description, hlc FROM conflicts "
            "WHERE field = 'assignee' AND applied = 0"
        )
    ]
