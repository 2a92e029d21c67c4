"""WAL checkpoints beside the writer, not inside its commits.

By default SQLite checkpoints inside the COMMIT that grows the WAL past 1,000
pages: that commit copies some 4 MB into the database file and fsyncs it
before it returns, so the commands it acknowledges wait for work that is not
theirs, once every few dozen group commits under load. The writer's own
connection turns that off (``take_over``), and a second connection runs
PASSIVE checkpoints from a worker thread: SQLite lets a checkpoint run while
the writer appends, so commits no longer pay for it.

PASSIVE never waits for readers: what a long read still needs is left for the
next run. Nothing here changes what is durable: a commit is on disk once the
WAL is fsynced, checkpointed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.store.sqlite import open_writer

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path


def take_over(writer_conn: sqlite3.Connection) -> None:
    """Stop ``writer_conn``'s commits from checkpointing: a ``Checkpointer`` does it."""
    writer_conn.execute("PRAGMA wal_autocheckpoint=0")


@dataclass(frozen=True)
class CheckpointResult:
    wal_frames: int  # frames in the WAL when the checkpoint ran
    checkpointed: int  # of those, how many are now in the database file
    busy: bool  # a lock kept it from running at all


class Checkpointer:
    """Its own connection to the events DB, used by one thread at a time."""

    def __init__(self, path: Path) -> None:
        self.conn = open_writer(path, durable=True)

    def run(self) -> CheckpointResult:
        busy, frames, done = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return CheckpointResult(int(frames), int(done), bool(busy))

    def close(self) -> None:
        self.conn.close()
