"""Reads of the dispatches view: dispatch requests, each host's offer and how many
places it has free, and the session a dispatched background job became.

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from clare.store.queries_common import iso
from clare.store.queries_hosts import host_names

if TYPE_CHECKING:
    import sqlite3


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
