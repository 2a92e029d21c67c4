from __future__ import annotations

from typing import TYPE_CHECKING

from clare.store import checkpoint
from clare.store.eventlog import open_events_db

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path


def _fill(conn: sqlite3.Connection, rows: int) -> None:
    for i in range(rows):
        conn.execute(
            "INSERT INTO commands (id, reply, at_ms) VALUES (?, ?, ?)",
            (f"c{i:06d}", b"r" * 3000, i),
        )


def test_taken_over_commits_leave_the_wal_to_the_checkpointer(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    conn = open_events_db(path)
    checkpoint.take_over(conn)
    _fill(conn, 3000)  # ~2,500 pages: SQLite would have checkpointed twice by itself
    size_before = path.stat().st_size
    checkpointer = checkpoint.Checkpointer(path)
    try:
        result = checkpointer.run()
        assert result.wal_frames > 2000
        assert result.checkpointed == result.wal_frames
        assert not result.busy
        assert path.stat().st_size > size_before + 4_000_000  # the pages moved into the file
        # The writer goes on committing after a checkpoint, and the next one takes the rest.
        conn.execute("INSERT INTO commands (id, reply, at_ms) VALUES ('late', x'00', 1)")
        again = checkpointer.run()
        assert again.checkpointed == again.wal_frames > 0
    finally:
        checkpointer.close()
        conn.close()


def test_without_a_checkpointer_the_pages_stay_in_the_wal(tmp_path: Path) -> None:
    # The control for the test above: it is the checkpointer that moves them.
    path = tmp_path / "events.db"
    conn = open_events_db(path)
    checkpoint.take_over(conn)
    size_before = path.stat().st_size
    _fill(conn, 3000)
    assert path.stat().st_size == size_before
    assert (tmp_path / "events.db-wal").stat().st_size > 8_000_000
    conn.close()
