"""The events table: appends by the writer, reads by everyone else.

Only the writer node calls the ``EventLog`` methods that write; all other
processes use the module-level read functions on a read-only connection.
"""

from __future__ import annotations

import fnmatch
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from clare.core.events import Event
from clare.core.seqs import contiguous_top
from clare.store import schema
from clare.store.sqlite import migrate, open_reader, open_writer

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator, Sequence
    from pathlib import Path

_COLUMNS = "seq, id, origin, origin_seq, hlc, kind, body"


def _row(row: tuple[int, str, str, int, int, str, bytes]) -> Event:
    return Event(*row)


def open_events_db(path: Path) -> sqlite3.Connection:
    conn = open_writer(path, durable=True)
    migrate(conn, schema.EVENTS_MIGRATIONS, "events")
    return conn


def open_events_reader(path: Path, *, cache_kib: int | None = None) -> sqlite3.Connection:
    return open_reader(path, cache_kib=cache_kib)


def read_after(conn: sqlite3.Connection, after_seq: int, limit: int) -> list[Event]:
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", (after_seq, limit)
    ).fetchall()
    return [_row(r) for r in rows]


def iter_after(conn: sqlite3.Connection, after_seq: int, batch: int = 5000) -> Iterator[Event]:
    while True:
        events = read_after(conn, after_seq, batch)
        if not events:
            return
        yield from events
        after_seq = events[-1].seq


def entity_events(
    conn: sqlite3.Connection, entity: str, upto_seq: int | None = None
) -> list[Event]:
    """One entity's events in the agreed order ``(hlc, origin)``, optionally only
    those that arrived up to ``upto_seq``."""
    if upto_seq is None:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE entity = ? ORDER BY hlc, origin", (entity,)
        ).fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE entity = ? AND seq <= ? ORDER BY hlc, origin",
            (entity, upto_seq),
        ).fetchall()
    return [_row(r) for r in rows]


def entities_with_prefix(conn: sqlite3.Connection, prefix: str) -> list[str]:
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    rows = conn.execute(
        "SELECT DISTINCT entity FROM events WHERE entity >= ? AND entity < ?", (prefix, upper)
    ).fetchall()
    return [r[0] for r in rows]


def last_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def kind_glob_sql(glob: str) -> str:
    """A shell glob (``fnmatch``'s syntax) as a pattern for SQLite's ``GLOB``.

    Both match case-sensitively with ``*``, ``?`` and ``[...]``; only the
    negated set is spelled differently (``[!x]`` in fnmatch, ``[^x]`` in SQLite).
    """
    return glob.replace("[!", "[^")


def recent(
    conn: sqlite3.Connection,
    limit: int,
    kind_like: str | None = None,
    entity: str | None = None,
    *,
    kind_glob: str | None = None,
) -> list[Event]:
    """The newest events, newest first, optionally filtered by kind (SQL LIKE, or a
    shell glob) or entity. The filter is in the query, so ``limit`` counts matches."""
    where, args = [], []
    if kind_like:
        where.append("kind LIKE ?")
        args.append(kind_like)
    if kind_glob:
        where.append("kind GLOB ?")
        args.append(kind_glob_sql(kind_glob))
    if entity:
        where.append("entity = ?")
        args.append(entity)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM events {clause} ORDER BY seq DESC LIMIT ?", (*args, limit)
    ).fetchall()
    return [_row(r) for r in rows]


def read_range(
    conn: sqlite3.Connection, origin: str, first: int, last: int, limit: int
) -> Iterator[Event]:
    """Up to ``limit`` events of ``origin`` with ``first <= origin_seq <= last``, in order.

    Rows are read as they are taken: a caller that stops early (at a gap, at a
    size cap) reads no more of them.
    """
    cursor = conn.execute(
        f"SELECT {_COLUMNS} FROM events WHERE origin = ? AND origin_seq BETWEEN ? AND ?"
        " ORDER BY origin_seq LIMIT ?",
        (origin, first, last, limit),
    )
    try:
        for row in cursor:
            yield _row(row)
    finally:
        cursor.close()


def newest_matching(
    conn: sqlite3.Connection,
    limit: int,
    *,
    kind_glob: str | None = None,
    entity: str | None = None,
    origins: Sequence[str] | None = None,
    before: int | None = None,
    after: int | None = None,
) -> list[Event]:
    """Up to ``limit`` events newest first: of a kind matching a shell glob, of an entity,
    from one of ``origins``, with a local seq below ``before`` / above ``after``."""
    where: list[str] = []
    args: list[Any] = []
    if entity:
        where.append("entity = ?")
        args.append(entity)
    if origins:
        where.append(f"origin IN ({', '.join('?' * len(origins))})")
        args += origins
    if before is not None:
        where.append("seq < ?")
        args.append(before)
    if after is not None:
        where.append("seq > ?")
        args.append(after)
    if kind_glob and not any(c in kind_glob for c in "*?["):
        where.append("kind = ?")
        args.append(kind_glob)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    found: list[Event] = []
    # A glob is matched here rather than in SQL, in pages of rows, to stay exact.
    cursor = conn.execute(f"SELECT {_COLUMNS} FROM events {clause} ORDER BY seq DESC", args)
    try:
        while len(found) < limit:
            rows = cursor.fetchmany(500)
            if not rows:
                break
            for row in rows:
                event = Event(*row)
                if kind_glob and not fnmatch.fnmatchcase(event.kind, kind_glob):
                    continue
                found.append(event)
                if len(found) == limit:
                    break
    finally:
        cursor.close()
    return found


def version_vector(conn: sqlite3.Connection) -> dict[str, int]:
    """``{origin: highest origin_seq with no gap below it}``."""
    vector: dict[str, int] = {}
    for origin, top, n in conn.execute(
        "SELECT origin, MAX(origin_seq), COUNT(*) FROM events GROUP BY origin"
    ):
        # As many events as the highest seq: none is missing below it. Else
        # events arrived out of order, and the walk finds where contiguity ends.
        vector[origin] = int(top) if top == n else contiguous_after(conn, origin, 0)
    return vector


def contiguous_after(
    conn: sqlite3.Connection, origin: str, top: int, upto_seq: int | None = None
) -> int:
    """The contiguous top of ``origin``, walked forward from a known ``top``.

    With ``upto_seq``, only the rows committed up to that local ``seq`` count
    (a reader that has tallied the table up to there). The walk reads the
    ``(origin, origin_seq)`` index only as far as the first gap.
    """
    sql, args = "", [origin, top]
    if upto_seq is not None:
        sql = " AND seq <= ?"
        args.append(upto_seq)
    cursor = conn.execute(
        f"SELECT origin_seq FROM events WHERE origin = ? AND origin_seq > ?{sql}"
        " ORDER BY origin_seq",
        args,
    )
    try:
        return contiguous_top(top, cursor)
    finally:
        # Stopped at a gap, the statement is unfinished: close it, or it keeps
        # this connection's read snapshot (and the WAL behind it) alive.
        cursor.close()


def slot_conflict_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM slot_conflicts").fetchone()[0])


def slot_conflicts(conn: sqlite3.Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest events refused because another event holds their slot."""
    rows = conn.execute(
        "SELECT origin, origin_seq, event_id, hlc, kind, body_sha256, held_id, peer, seen_at_ms "
        "FROM slot_conflicts ORDER BY seen_at_ms DESC, origin, origin_seq LIMIT ?",
        (limit,),
    ).fetchall()
    names = ("origin", "origin_seq", "event_id", "hlc", "kind", "body_sha256", "held_id", "peer",
             "seen_at_ms")  # fmt: skip
    return [dict(zip(names, row, strict=True)) for row in rows]


class EventLog:
    """The writer's handle on the events DB. Call the write methods inside a transaction."""

    def __init__(self, conn: sqlite3.Connection, machine_id: str) -> None:
        self.conn = conn
        self.machine_id = machine_id
        self.reload()

    def reload(self) -> None:
        """Re-read counters from disk (on start, and after a failed transaction)."""
        self.last_seq = last_seq(self.conn)
        self.own_seq = int(
            self.conn.execute(
                "SELECT COALESCE(MAX(origin_seq), 0) FROM events WHERE origin = ?",
                (self.machine_id,),
            ).fetchone()[0]
        )
        self.max_hlc = int(
            self.conn.execute("SELECT COALESCE(MAX(hlc), 0) FROM events").fetchone()[0]
        )

    def append_local(self, kind: str, entity: str, body: bytes, stamp: int) -> Event:
        self.own_seq += 1
        event = Event(0, str(uuid.uuid4()), self.machine_id, self.own_seq, stamp, kind, body)
        return self._insert(event, entity)

    def append_remote(self, event: Event, entity: str) -> Event | None:
        """Store an event made elsewhere; None if it is already here."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO events (id, origin, origin_seq, hlc, kind, entity, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.id, event.origin, event.origin_seq, event.hlc, event.kind, entity, event.body),
        )
        if cur.rowcount == 0:
            return None
        seq = int(cur.lastrowid or 0)
        self.last_seq = seq
        self.max_hlc = max(self.max_hlc, event.hlc)
        return Event(
            seq, event.id, event.origin, event.origin_seq, event.hlc, event.kind, event.body
        )

    def append_remote_many(self, items: list[tuple[Event, str]]) -> list[Event | None]:
        """Store events made elsewhere, in order; None for each one already here.

        One ``executemany`` when none is here yet (the usual case: peers send
        what we lack), which costs a third of inserting row by row. If any row
        was ignored, the batch is undone to a savepoint and stored row by row,
        so each event gets its own answer.
        """
        if not items:
            return []
        self.conn.execute("SAVEPOINT remote_batch")
        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO events (id, origin, origin_seq, hlc, kind, entity, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(e.id, e.origin, e.origin_seq, e.hlc, e.kind, entity, e.body) for e, entity in items],
        )
        if self.conn.total_changes - before == len(items):
            self.conn.execute("RELEASE remote_batch")
            # A single writer appends, so the rows took the next seqs in order.
            first = self.last_seq + 1
            stored: list[Event | None] = [
                Event(first + i, e.id, e.origin, e.origin_seq, e.hlc, e.kind, e.body)
                for i, (e, _) in enumerate(items)
            ]
            self.last_seq = first + len(items) - 1
            self.max_hlc = max(self.max_hlc, *(e.hlc for e, _ in items))
            return stored
        self.conn.execute("ROLLBACK TO remote_batch")
        self.conn.execute("RELEASE remote_batch")
        return [self.append_remote(event, entity) for event, entity in items]

    def holds(self, event_id: str, origin: str, origin_seq: int) -> tuple[bool, bool]:
        """(this id is stored, this (origin, origin_seq) slot is taken)."""
        by_id = self.conn.execute("SELECT 1 FROM events WHERE id = ?", (event_id,)).fetchone()
        by_slot = self.conn.execute(
            "SELECT 1 FROM events WHERE origin = ? AND origin_seq = ?", (origin, origin_seq)
        ).fetchone()
        return by_id is not None, by_slot is not None

    def held_at(self, origin: str, origin_seq: int) -> str | None:
        """The id of the event in this slot, if any."""
        row = self.conn.execute(
            "SELECT id FROM events WHERE origin = ? AND origin_seq = ?", (origin, origin_seq)
        ).fetchone()
        return None if row is None else str(row[0])

    def record_slot_conflict(self, event: Event, held_id: str, peer: str, now_ms: int) -> bool:
        """Keep a refused event's identity beside the one holding its slot; False if known."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO slot_conflicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.origin, event.origin_seq, event.id, event.hlc, event.kind,
                hashlib.sha256(event.body).hexdigest(), held_id, peer, now_ms,
            ),
        )  # fmt: skip
        return cur.rowcount == 1

    def _insert(self, event: Event, entity: str) -> Event:
        cur = self.conn.execute(
            "INSERT INTO events (id, origin, origin_seq, hlc, kind, entity, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.id, event.origin, event.origin_seq, event.hlc, event.kind, entity, event.body),
        )
        seq = int(cur.lastrowid or 0)
        self.last_seq = seq
        self.max_hlc = max(self.max_hlc, event.hlc)
        return Event(
            seq, event.id, event.origin, event.origin_seq, event.hlc, event.kind, event.body
        )
