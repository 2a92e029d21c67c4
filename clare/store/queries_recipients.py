"""The views' rows that place a session (project, host, groups) and the messages it may get.

Read by the hook on every turn, so this imports nothing but the standard
library: no domain, no msgpack. Its records are NamedTuples, immutable as
frozen dataclasses are, because making a dataclass costs the hook some 0.7 ms
of start-up each and a NamedTuple a fifth of that. The rules that decide who
gets what stay in :mod:`clare.app.recipients`; here are only the rows they
decide on.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import sqlite3


class SessionPlace(NamedTuple):
    """What the views know of where a session runs."""

    host: str  # machine id, "" if the snapshot has none
    project: str
    cwd: str
    ended: bool


class MessageRow(NamedTuple):
    """One message of the views, with the fields delivery decides on."""

    id: str
    target: str
    text: str
    author: str
    sent_at: int
    expires_at: int


_MESSAGE_COLUMNS = "id, target, text, author, sent_at, expires_at"


def project_paths(conn: sqlite3.Connection, machine_id: str) -> dict[str, str]:
    """Each project's path on the host ``machine_id``."""
    out: dict[str, str] = {}
    for name, paths in conn.execute("SELECT name, paths FROM projects WHERE deleted = 0"):
        path = json.loads(paths).get(machine_id)
        if isinstance(path, str) and path:
            out[name] = path
    return out


def group_pairs(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    """Each group with its members: the groups' own, then ``host:NAME`` per host's groups."""
    pairs: list[tuple[str, list[str]]] = [
        (name, json.loads(members))
        for name, members in conn.execute("SELECT name, members FROM groups_ WHERE removed = 0")
    ]
    for name, groups in conn.execute("SELECT name, groups_ FROM hosts"):
        pairs += [(group, [f"host:{name}"]) for group in json.loads(groups)]
    return pairs


def session_place(conn: sqlite3.Connection, session: str) -> SessionPlace | None:
    """Where the views place ``session``, or None if they do not know it yet."""
    row = conn.execute("SELECT snapshot FROM sessions WHERE id = ?", (session,)).fetchone()
    if row is None:
        return None
    snap = json.loads(row[0])
    return SessionPlace(
        host=snap.get("host") or "",
        project=snap.get("project") or "",
        cwd=snap.get("cwd") or "",
        ended=snap.get("status") == "ended",
    )


def host_name(conn: sqlite3.Connection, machine_id: str) -> str | None:
    """The name the views know the host ``machine_id`` by, if any."""
    row = conn.execute("SELECT name FROM hosts WHERE machine_id = ?", (machine_id,)).fetchone()
    return None if row is None else str(row[0])


def undelivered_messages(conn: sqlite3.Connection, session: str, now_ms: int) -> list[MessageRow]:
    """Messages with a target, not expired at ``now_ms``, not yet delivered to ``session``,
    oldest first (whether each reaches the session is the caller's rule)."""
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages "
        "WHERE target != '' AND (expires_at = 0 OR expires_at >= ?) "
        "AND id NOT IN (SELECT message FROM deliveries WHERE session = ?) ORDER BY sent_hlc",
        (now_ms, session),
    ).fetchall()
    return [MessageRow(*row) for row in rows]


def message(conn: sqlite3.Connection, message_id: str) -> MessageRow | None:
    """One message by id."""
    row = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
    ).fetchone()
    return None if row is None else MessageRow(*row)
