"""Reads about the event log: one event as a dict, the events counted by kind, and the
events the projector set aside (it could not fold them).

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError
from clare.store.queries_common import iso

if TYPE_CHECKING:
    import sqlite3

    from clare.core.events import Event


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
