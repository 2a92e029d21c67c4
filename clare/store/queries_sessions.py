"""Reads of the sessions view that the session poller and the status counts need."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.domain.events import SessionObserved, decode
from clare.store.position import position
from clare.store.queries import held_by_ended_sessions
from clare.store.queries_recipients import project_paths
from clare.store.sqlite import reading

if TYPE_CHECKING:
    import sqlite3


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
