"""Small checks and lookups around the lists: is a filter's name known, when does a
task count as archived, what state is each task in (deleted ones included).

Apart from the ``clare.store.queries_*`` modules so they keep to the reads themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.core import hlc
from clare.core.errors import NotFound

if TYPE_CHECKING:
    import sqlite3


def archive_cutoff(now_ms: int, archive_after_days: int) -> int | None:
    """The HLC stamp before which a done or cancelled task counts as archived (None: never)."""
    if archive_after_days <= 0:
        return None
    return hlc.pack(max(0, now_ms - archive_after_days * 86_400_000), 0)


def task_states(conn: sqlite3.Connection) -> dict[str, str]:
    """Every task's state by id, ``deleted`` for a deleted one (to mark dependencies)."""
    return {
        task_id: "deleted" if deleted else state
        for task_id, state, deleted in conn.execute("SELECT id, state, deleted FROM tasks")
    }


def need_known(
    conn: sqlite3.Connection,
    *,
    project: str | None = None,
    host: str | None = None,
    assignee: str | None = None,
) -> None:
    """Refuse a filter that names no known project or host.

    An empty list would read as "nothing there" when the name is simply wrong.
    """
    if (
        project
        and not conn.execute(
            "SELECT 1 FROM projects WHERE name = ? AND deleted = 0", (project,)
        ).fetchone()
    ):
        raise NotFound(f"no project {project!r}: see `clare project list`")
    if host and not (
        conn.execute(
            "SELECT 1 FROM hosts WHERE name = ? OR machine_id = ?", (host, host)
        ).fetchone()
        or conn.execute("SELECT 1 FROM sessions WHERE host = ? LIMIT 1", (host,)).fetchone()
    ):
        raise NotFound(f"no host {host!r} is known here: see `clare status`")
    if assignee:
        kind, sep, name = assignee.partition(":")
        lookups = {
            "session": "SELECT 1 FROM sessions WHERE id = ?",
            "host": "SELECT 1 FROM hosts WHERE name = ?",
            "group": "SELECT 1 FROM groups_ WHERE name = ? AND removed = 0",
        }
        if not (sep and kind in lookups):
            kinds, name = list(lookups), assignee
        else:
            kinds = [kind]
        if not any(conn.execute(lookups[k], (name,)).fetchone() for k in kinds):
            raise NotFound(f"no session, host or group {assignee!r} is known here")
