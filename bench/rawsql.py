"""Raw SQLite baselines: what the disk and SQLite alone can do, with Clare's own settings.

The rows go into a database made by ``open_events_db``: the same schema and
indexes, WAL, ``synchronous=FULL``, on the same disk as the instance being
measured. So a ratio to these figures is the cost of Clare itself (bus,
decoding, deciding, the idempotency record), not of the storage it chose.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from typing import TYPE_CHECKING

from clare.core.events import encode_body
from clare.core.hlc import pack, wall_ms
from clare.domain.events import TaskCreated
from clare.store.eventlog import iter_after, open_events_db, open_events_reader
from clare.sync.messages import event_wire_size

if TYPE_CHECKING:
    from pathlib import Path

_INSERT = (
    "INSERT INTO events (id, origin, origin_seq, hlc, kind, entity, body) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_ORIGIN = "00000000-0000-4000-8000-00000000beef"


class RawLog:
    """An events DB written with plain INSERTs, one connection, no Clare in between."""

    def __init__(self, path: Path) -> None:
        self.conn: sqlite3.Connection = open_events_db(path)
        self.seq = 0
        self.body = encode_body(
            TaskCreated(
                task="t-0000000000", project="bench", title="a task like any other"
            ).to_body()
        )

    def close(self) -> None:
        self.conn.close()

    def _row(self) -> tuple[str, str, int, int, str, str, bytes]:
        self.seq += 1
        stamp = pack(wall_ms(), self.seq & 0xFFFF)
        # A new task's id is random, as `task.add` makes it: its row in the
        # entity index lands on a random page, as Clare's does.
        task = f"t-{os.urandom(5).hex()}"
        return (str(uuid.uuid4()), _ORIGIN, self.seq, stamp, "TaskCreated", task, self.body)

    def insert_batch(self, rows: int) -> None:
        """``rows`` inserts in one transaction, committed (and so fsync'd) before returning."""
        self.conn.execute("BEGIN IMMEDIATE")
        for _ in range(rows):
            self.conn.execute(_INSERT, self._row())
        self.conn.execute("COMMIT")


def mean_wire_bytes(events_db: Path) -> float:
    """Mean size of a stored event as sync batches count it (``event_wire_size``)."""
    conn = open_events_reader(events_db)
    try:
        total = count = 0
        for event in iter_after(conn, 0):
            total += event_wire_size(event)
            count += 1
    finally:
        conn.close()
    return total / count if count else 0.0


def copy_of(source: Path, target: Path) -> Path:
    """A consistent copy of the events DB at ``source`` (being written or not) at ``target``.

    For a baseline measured on a database as big as the instance's: each insert
    into its random uuid and entity indexes touches pages a small DB would not have.
    """
    src = open_events_reader(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def insert_latencies_ms(path: Path, count: int) -> list[float]:
    """Latency of ``count`` single-row transactions, each its own fsync'd commit."""
    log = RawLog(path)
    try:
        log.insert_batch(1)  # the first commit creates the WAL file: not typical
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            log.insert_batch(1)
            samples.append((time.perf_counter() - started) * 1000)
        return samples
    finally:
        log.close()


def batched_insert_rate(path: Path, batch: int, seconds: float) -> float:
    """Rows per second inserted in transactions of ``batch`` rows, for about ``seconds``."""
    log = RawLog(path)
    try:
        log.insert_batch(batch)
        rows = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            log.insert_batch(batch)
            rows += batch
        return rows / (time.perf_counter() - started)
    finally:
        log.close()


def copy_rate(source: Path, target: Path, batch: int) -> tuple[float, int]:
    """(rows per second, rows) copying every event of ``source`` into a new DB at ``target``.

    The very rows Clare's sync moves (same ids, entities, bodies, in seq order),
    inserted with ``executemany`` in ``batch``-row fsync'd transactions into an
    empty events DB: what SQLite alone needs to store that history.
    """
    reader = open_events_reader(source)
    conn = open_events_db(target)
    try:
        rows = 0
        started = time.perf_counter()
        cursor = reader.execute(
            "SELECT id, origin, origin_seq, hlc, kind, entity, body FROM events ORDER BY seq"
        )
        while chunk := cursor.fetchmany(batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_INSERT, chunk)
            conn.execute("COMMIT")
            rows += len(chunk)
        return rows / (time.perf_counter() - started), rows
    finally:
        reader.close()
        conn.close()
