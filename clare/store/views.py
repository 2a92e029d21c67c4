"""The views DB: entity states as rows, written only by the projector.

Each kind of entity state (``clare.domain``) has a row form here. Rows keep
what the CLI and the web page query as columns, and the rest of the fold
state (order keys, event ids, conflicts) in a msgpack ``fold`` blob, so the
projector can pick a fold up where it left off after a restart.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack

from clare.core.errors import StorageError
from clare.domain.entities import Group, Host, Project, Session
from clare.domain.events import SessionObserved
from clare.domain.messages import Delivery, Message
from clare.domain.tasks import Conflict, Task
from clare.store import schema
from clare.store.position import position as position
from clare.store.sqlite import is_damage, migrate, open_writer, storage_error

if TYPE_CHECKING:
    from collections.abc import Iterable

VIEW_TABLES = (
    "projects", "tasks", "conflicts", "hosts", "groups_", "sessions", "counts",
    "messages", "deliveries", "held_back", "set_aside",
)  # fmt: skip


def open_views_db(path: Path) -> sqlite3.Connection:
    conn = open_writer(path, durable=False)
    migrate(conn, schema.VIEWS_MIGRATIONS, "views")
    return conn


def set_aside(path: Path) -> Path:
    """Move a damaged views DB (and its WAL) out of the way; returns where it went.

    Views are disposable (invariant 1): a fresh file is rebuilt from events.
    The old one is kept beside it for a post-mortem, not deleted.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{target}{suffix}"))
    return target


def open_or_replace(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """Open the views DB; if the file is damaged, set it aside and start afresh.

    Only damage (a corrupt file, or not a database at all) sets it aside. Any
    other failure, above all a full disk, is raised: the file is sound, and
    moving it aside would only cost a rebuild, and on a full disk fail anyway.
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = open_views_db(path)
        position(conn)
        return conn, None
    except (StorageError, sqlite3.Error) as exc:
        if conn is not None:
            conn.close()
        if not is_damage(exc):
            if isinstance(exc, StorageError):
                raise
            raise storage_error(f"cannot read {path}: {exc}", exc) from exc
        moved = set_aside(path)
        return open_views_db(path), moved


def set_position(conn: sqlite3.Connection, seq: int) -> None:
    conn.execute("UPDATE position SET seq = ? WHERE id = 1", (seq,))


def clear(conn: sqlite3.Connection) -> None:
    for table in VIEW_TABLES:
        conn.execute(f"DELETE FROM {table}")
    set_position(conn, 0)


def held_back(conn: sqlite3.Connection) -> set[str]:
    """Entities whose events so far fold to no state (see the ``held_back`` table)."""
    return {row[0] for row in conn.execute("SELECT entity FROM held_back")}


def update_held_back(
    conn: sqlite3.Connection, added: Iterable[str], released: Iterable[str]
) -> None:
    """Record entities that became held back, and forget those that no longer are."""
    conn.executemany("INSERT OR IGNORE INTO held_back VALUES (?)", [(e,) for e in added])
    conn.executemany("DELETE FROM held_back WHERE entity = ?", [(e,) for e in released])


def bump_counts(conn: sqlite3.Connection, counts: dict[str, int]) -> None:
    conn.executemany(
        "INSERT INTO counts (kind, n) VALUES (?, ?) ON CONFLICT (kind) DO UPDATE SET n = n + ?",
        [(kind, n, n) for kind, n in counts.items()],
    )


def record_set_aside(conn: sqlite3.Connection, rows: Iterable[tuple[int, str, str, str]]) -> None:
    """Record events set aside, as ``(seq, id, kind, reason)``; a refold may name one again."""
    conn.executemany("INSERT OR IGNORE INTO set_aside VALUES (?, ?, ?, ?)", rows)


# --- loading a state to continue its fold ------------------------------------------------


def load_state(conn: sqlite3.Connection, entity: str) -> Any:
    prefix = entity[:2]
    key = entity[2:]
    if prefix == "t-":
        row = conn.execute("SELECT * FROM tasks WHERE id = ?", (entity,)).fetchone()
        return None if row is None else _task_from_row(row)
    if prefix == "p:":
        row = conn.execute("SELECT * FROM projects WHERE name = ?", (key,)).fetchone()
        return None if row is None else _project_from_row(row)
    if prefix == "h:":
        row = conn.execute("SELECT * FROM hosts WHERE machine_id = ?", (key,)).fetchone()
        return (
            None
            if row is None
            else Host(row[0], row[1], tuple(json.loads(row[2])), (row[3], row[4]))
        )
    if prefix == "g:":
        row = conn.execute("SELECT * FROM groups_ WHERE name = ?", (key,)).fetchone()
        return (
            None
            if row is None
            else Group(row[0], tuple(json.loads(row[1])), bool(row[2]), (row[3], row[4]))
        )
    if prefix == "s:":
        row = conn.execute(
            "SELECT snapshot, last_hlc, last_origin FROM sessions WHERE id = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return Session(_session_snapshot(data), (row[1], row[2]))
    if prefix == "m:":
        return _load_message(conn, key)
    return None


def _load_message(conn: sqlite3.Connection, message_id: str) -> Message | None:
    row = conn.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
    if row is None:
        return None
    _id, target, text, author, sent_at, expires_at, sent_hlc, last_hlc, last_origin = row
    found = conn.execute(
        "SELECT session, via, at FROM deliveries WHERE message = ? ORDER BY at, session",
        (message_id,),
    ).fetchall()
    return Message(
        message_id, target, text, author, sent_at, expires_at, sent_hlc,
        tuple(Delivery(*d) for d in found), (last_hlc, last_origin),
    )  # fmt: skip


def _session_snapshot(data: dict[str, Any]) -> SessionObserved:
    from clare.domain.events import decode

    event = decode(SessionObserved.kind, data)
    assert isinstance(event, SessionObserved)
    return event


def _task_from_row(row: tuple[Any, ...]) -> Task:
    (
        task_id, project, title, body, priority, tags, depends_on, state,
        assignee_kind, assignee, created_at, updated_at, notes, fold, deleted,
    ) = row  # fmt: skip
    extra = msgpack.unpackb(fold, raw=False)
    return Task(
        id=task_id,
        project=project,
        title=title,
        body=body,
        priority=priority,
        tags=tuple(json.loads(tags)),
        depends_on=tuple(json.loads(depends_on)),
        state=state,
        assignee_kind=assignee_kind,
        assignee=assignee,
        created_at=created_at,
        updated_at=updated_at,
        notes=notes,
        last_key=(extra["last_key"][0], extra["last_key"][1]),
        state_event_id=extra["state_event_id"],
        assignee_event_id=extra["assignee_event_id"],
        created_event_id=extra["created_event_id"],
        title_event_id=extra.get("title_event_id", ""),  # folds saved before it existed
        deleted=bool(deleted),
        conflicts=tuple(Conflict(*c) for c in extra["conflicts"]),
    )


def _project_from_row(row: tuple[Any, ...]) -> Project:
    name, description, paths, created_at, updated_at, last_hlc, last_origin, deleted, renamed = row
    return Project(
        name, description, json.loads(paths), created_at, updated_at, (last_hlc, last_origin),
        bool(deleted), renamed,
    )  # fmt: skip


# --- saving states ------------------------------------------------------------------------


def save_state(conn: sqlite3.Connection, entity: str, state: Any) -> None:
    save_states(conn, [state])


def save_states(conn: sqlite3.Connection, states: Iterable[Any]) -> None:
    """Write the rows of many entity states (None ones are skipped).

    Rows are gathered per table and written with one ``executemany`` each: a
    batch of events touches the same tables over and over, and one statement
    per row cost more than the rest of the projection.
    """
    rows: dict[str, list[tuple[Any, ...]]] = {}
    tasks: list[Task] = []
    messages: list[Message] = []
    for state in states:
        if state is None:
            continue
        if isinstance(state, Task):
            tasks.append(state)
        elif isinstance(state, Session):
            rows.setdefault(_SESSION_ROW, []).append(_session_row(state))
        elif isinstance(state, Project):
            rows.setdefault(_PROJECT_ROW, []).append(
                (
                    state.name, state.description, json.dumps(state.paths, sort_keys=True),
                    state.created_at, state.updated_at, *state.last_key,
                    int(state.deleted), state.renamed_to,
                )
            )  # fmt: skip
        elif isinstance(state, Host):
            rows.setdefault(_HOST_ROW, []).append(
                (state.machine_id, state.name, json.dumps(state.groups), *state.last_key)
            )
        elif isinstance(state, Group):
            rows.setdefault(_GROUP_ROW, []).append(
                (state.name, json.dumps(state.members), int(state.removed), *state.last_key)
            )
        elif isinstance(state, Message):
            messages.append(state)
    if tasks:
        _save_tasks(conn, tasks)
    if messages:
        _save_messages(conn, messages)
    for sql, table_rows in rows.items():
        conn.executemany(sql, table_rows)


_SESSION_ROW = "INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_PROJECT_ROW = "INSERT OR REPLACE INTO projects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_HOST_ROW = "INSERT OR REPLACE INTO hosts VALUES (?, ?, ?, ?, ?)"
_GROUP_ROW = "INSERT OR REPLACE INTO groups_ VALUES (?, ?, ?, ?, ?)"
_TASK_ROW = "INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_CONFLICT_ROW = "INSERT OR REPLACE INTO conflicts VALUES (?, ?, ?, ?, ?, ?, ?)"


def _session_row(state: Session) -> tuple[Any, ...]:
    snap = state.snapshot
    return (
        snap.session, snap.host, snap.status, snap.project, snap.last_activity,
        json.dumps(snap.to_body(), sort_keys=True), *state.last_key,
    )  # fmt: skip


def _save_messages(conn: sqlite3.Connection, messages: list[Message]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                m.id, m.target, m.text, m.author, m.sent_at, m.expires_at, m.sent_hlc,
                *m.last_key,
            )
            for m in messages
        ],
    )  # fmt: skip
    conn.executemany("DELETE FROM deliveries WHERE message = ?", [(m.id,) for m in messages])
    conn.executemany(
        "INSERT INTO deliveries VALUES (?, ?, ?, ?)",
        [(m.id, d.session, d.via, d.at) for m in messages for d in m.deliveries],
    )


def _save_tasks(conn: sqlite3.Connection, tasks: list[Task]) -> None:
    conn.executemany(_TASK_ROW, [_task_row(task) for task in tasks])
    # A task's conflicts are rewritten whole: a refold may have settled a race differently.
    conn.executemany("DELETE FROM conflicts WHERE task = ?", [(task.id,) for task in tasks])
    conn.executemany(
        _CONFLICT_ROW,
        [
            (c.event_id, task.id, c.winner_event_id, c.field, c.description, int(c.applied), c.hlc)
            for task in tasks
            for c in task.conflicts
        ],
    )


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    # Tags and dependencies repeat from task to task (most have none), and the
    # projector writes a task's row for every change: the JSON is made once.
    return json.dumps(list(items))


def _task_row(task: Task) -> tuple[Any, ...]:
    fold = msgpack.packb(
        {
            "last_key": list(task.last_key),
            "state_event_id": task.state_event_id,
            "assignee_event_id": task.assignee_event_id,
            "created_event_id": task.created_event_id,
            "title_event_id": task.title_event_id,
            "conflicts": [list(asdict(c).values()) for c in task.conflicts],
        },
        use_bin_type=True,
    )
    return (
        task.id, task.project, task.title, task.body, task.priority,
        _json_list(task.tags), _json_list(task.depends_on), task.state,
        task.assignee_kind, task.assignee, task.created_at, task.updated_at, task.notes, fold,
        int(task.deleted),
    )  # fmt: skip
