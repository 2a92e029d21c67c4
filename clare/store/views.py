"""The views DB: entity states as rows, written only by the projector.

Each kind of entity (``clare.domain.kinds``) names its table and its row
codec (``clare.domain.rows``); this module is the SQL around them: open and
migrate the file, keep the projector's position, load a state to continue
its fold and save many states at once.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.core.errors import StorageError
from clare.domain.kinds import EntityKind, kind_of, kind_of_state
from clare.store import schema
from clare.store.position import position as position
from clare.store.sqlite import is_damage, migrate, open_writer, storage_error

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clare.domain.rows import ChildRows, RowCodec

VIEW_TABLES = (
    "projects", "tasks", "conflicts", "hosts", "groups_", "sessions", "counts",
    "messages", "deliveries", "held_back", "set_aside", "decisions", "dispatches",
    "dispatch_offers",
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


# --- states as rows (each kind's codec: ``clare.domain.rows``) -----------------------------


@functools.cache
def _sql(codec: RowCodec, width: int) -> str:
    return f"INSERT OR REPLACE INTO {codec.table} VALUES ({', '.join('?' * width)})"


@functools.cache
def _child_insert_sql(child: ChildRows, width: int) -> str:
    return f"INSERT OR REPLACE INTO {child.table} VALUES ({', '.join('?' * width)})"


def load_state(conn: sqlite3.Connection, entity: str) -> Any:
    """The state saved for ``entity``, to continue its fold (None if none is)."""
    kind = kind_of(entity)
    if kind is None:
        return None
    codec = kind.rows
    key = kind.row_key(entity)
    row = conn.execute(
        f"SELECT * FROM {codec.table} WHERE {codec.key_column} = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    children = {
        child.table: conn.execute(
            f"SELECT * FROM {child.table} WHERE {child.parent_column} = ?", (key,)
        ).fetchall()
        for child in codec.children
        if child.loaded
    }
    return codec.from_row(tuple(row), children)


def save_states(conn: sqlite3.Connection, states: Iterable[Any]) -> None:
    """Write the rows of many entity states (None ones are skipped).

    Rows are gathered per kind and written with one ``executemany`` per table:
    a batch of events touches the same tables over and over, and one statement
    per row cost more than the rest of the projection.
    """
    by_kind: dict[EntityKind, list[Any]] = {}
    for state in states:
        if state is not None:
            by_kind.setdefault(kind_of_state(state), []).append(state)
    for kind, group in by_kind.items():
        codec = kind.rows
        rows = [codec.to_row(state) for state in group]
        conn.executemany(_sql(codec, len(rows[0])), rows)
        for child in codec.children:
            # A state's list is rewritten whole: a refold may have settled a race differently.
            child_rows = [row for state in group for row in child.rows(state)]
            conn.executemany(
                f"DELETE FROM {child.table} WHERE {child.parent_column} = ?",
                [(codec.key(state),) for state in group],
            )
            if child_rows:
                conn.executemany(_child_insert_sql(child, len(child_rows[0])), child_rows)
