"""Rebuilding the views from events, and verifying that the live views equal a rebuild."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.core.errors import StorageError
from clare.store import views
from clare.store.eventlog import last_seq, open_events_db, open_events_reader
from clare.store.projection import Projection
from clare.store.sqlite import is_damage, open_reader, storage_error

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

MAX_DIFFERENCES = 50
#: How long verify waits for a running projector to reach the newest event.
CATCH_UP_WAIT_S = 3.0


def _events_reader(paths: InstancePaths) -> sqlite3.Connection:
    if not paths.events_db.exists():
        open_events_db(paths.events_db).close()
    return open_events_reader(paths.events_db)


def rebuild(paths: InstancePaths) -> dict[str, Any]:
    """Rebuild in place; the caller holds the projector's lock.

    A views DB too damaged to rebuild in place is set aside and built afresh.
    """
    events = _events_reader(paths)
    try:
        conn, moved = views.open_or_replace(paths.views_db)
        try:
            applied = Projection(conn, events).rebuild()
        except (StorageError, sqlite3.DatabaseError) as exc:
            conn.close()
            if not is_damage(exc):  # a full disk, say: the file is sound, keep it
                if isinstance(exc, StorageError):
                    raise
                raise storage_error(f"cannot rebuild the views: {exc}", exc) from exc
            moved = views.set_aside(paths.views_db)
            conn = views.open_views_db(paths.views_db)
            applied = Projection(conn, events).rebuild()
        result: dict[str, Any] = {"events": applied, "position": views.position(conn)}
        if moved is not None:
            result["damaged_views_moved_to"] = str(moved)
        conn.close()
        return result
    finally:
        events.close()


def _primary_key(conn: sqlite3.Connection, table: str) -> list[int]:
    info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return [i for i, row in enumerate(info) if row[5]] or [0]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def compare(live: sqlite3.Connection, rebuilt: sqlite3.Connection) -> tuple[list[str], int]:
    """Differences between two views DBs, as lines a person can read, and rows compared."""
    differences: list[str] = []
    compared = 0
    for table in views.VIEW_TABLES:
        key_cols = _primary_key(rebuilt, table)
        names = _columns(rebuilt, table)

        def keyed(
            conn: sqlite3.Connection, t: str = table, k: list[int] = key_cols
        ) -> dict[Any, Any]:
            return {tuple(r[i] for i in k): r for r in conn.execute(f"SELECT * FROM {t}")}

        a, b = keyed(live), keyed(rebuilt)
        compared += len(b)
        for key in sorted(a.keys() | b.keys(), key=repr):
            name = "/".join(str(k) for k in key)
            if key not in b:
                differences.append(f"{table} {name}: in the live views only")
            elif key not in a:
                differences.append(f"{table} {name}: missing from the live views")
            elif a[key] != b[key]:
                cols = [n for n, x, y in zip(names, a[key], b[key], strict=True) if x != y]
                differences.append(f"{table} {name}: {', '.join(cols)} differ")
    return differences, compared


def _views_position(paths: InstancePaths, live: sqlite3.Connection) -> int:
    try:
        return views.position(live)
    except sqlite3.Error as exc:
        # A views file the projector has not finished creating (or one left
        # empty by a full disk) has no position yet: nothing to compare.
        raise storage_error(
            f"the views at {paths.views_db} are not ready ({exc}): "
            "check `clare status`, then try again",
            exc,
        ) from exc


def verify(paths: InstancePaths, catch_up_wait_s: float = CATCH_UP_WAIT_S) -> dict[str, Any]:
    """Rebuild into a temporary file up to the newest event and compare.

    Up to the newest event, not to the live views' position: views stuck behind
    the events (a projector that cannot go on) are the failure to find, and
    compared only up to their own position they would always match. A running
    projector is given ``catch_up_wait_s`` to reach the newest event first.
    """
    live = open_reader(paths.views_db)
    events = _events_reader(paths)
    try:
        newest = last_seq(events)
        deadline = time.monotonic() + catch_up_wait_s
        while _views_position(paths, live) < newest and time.monotonic() < deadline:
            time.sleep(0.05)
        live.execute("BEGIN")  # one snapshot of the live views for the whole comparison
        position = _views_position(paths, live)
        upto = max(newest, position)
        differences = []
        if position < upto:
            differences.append(
                f"position: the views stop at event {position}, the events go on to {upto} "
                "(is the projector running? see `clare status` and its log)"
            )
        paths.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=paths.data_dir, prefix="verify-") as tmp:
            rebuilt = views.open_views_db(Path(tmp) / "views.db")
            try:
                Projection(rebuilt, events).rebuild(upto=upto)
                found, rows = compare(live, rebuilt)
                differences.extend(found)
            finally:
                rebuilt.close()
        live.execute("COMMIT")
    finally:
        live.close()
        events.close()
    return {
        "ok": not differences,
        "position": position,
        "events": upto,
        "rows": rows,
        "differences": differences[:MAX_DIFFERENCES],
        "difference_count": len(differences),
    }
