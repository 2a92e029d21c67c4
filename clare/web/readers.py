"""Read-only connections to the two databases, kept open between the web's reads.

Opening a pair of SQLite connections and running a first query costs about
1.4 ms of CPU (SQLite parses the schema and maps the WAL index each time),
more than most reads the pages make. So the web keeps a few pairs open and
hands one to each read; a read that finds none idle opens a fresh one.

At most ``size`` pairs stay open, and each one's page cache is bounded, so
their memory is bounded too: the web runs its reads in at most that many
threads (see ``WebContext.read``).

A kept connection holds the file it opened, not the path: if the views DB is
set aside and rebuilt (a damaged file is moved away), or the instance is made
afresh, a kept pair would go on reading the old file. Each hand-out therefore
compares the files' identity (device and inode) with the ones the pair
opened, and opens a new pair when they differ.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

from clare.core.errors import ClareError, StorageError
from clare.store.eventlog import open_events_reader
from clare.store.sqlite import open_reader

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterator
    from pathlib import Path

#: Pairs kept open: one per read thread (two cores; more threads only queue on the GIL).
READERS = 3
#: Page cache per kept connection, in KiB: SQLite's default (2 MB) times six
#: connections would be a large share of the web node's memory, and the pages
#: the reads need again are in the OS's file cache anyway.
CACHE_KIB = 1024

_FileId = tuple[int, int]


class _Pair:
    def __init__(self, views_db: Path, events_db: Path) -> None:
        self.ids = (_file_id(views_db), _file_id(events_db))
        self.views = open_reader(views_db, cache_kib=CACHE_KIB)
        try:
            self.events = open_events_reader(events_db, cache_kib=CACHE_KIB)
        except BaseException:
            self.views.close()
            raise

    def close(self) -> None:
        self.views.close()
        self.events.close()


def _file_id(path: Path) -> _FileId:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise StorageError(
            f"no data yet at {path.parent}: start Clare once with `clare up`"
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc}") from exc
    return st.st_dev, st.st_ino


class ReaderPool:
    """Read-only (views, events) connection pairs for worker threads; thread-safe."""

    def __init__(self, views_db: Path, events_db: Path, *, size: int = READERS) -> None:
        self.views_db = views_db
        self.events_db = events_db
        self.size = size
        self._idle: list[_Pair] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def idle(self) -> int:
        """Pairs open and waiting for a read."""
        return len(self._idle)

    @contextlib.contextmanager
    def pair(self) -> Iterator[tuple[sqlite3.Connection, sqlite3.Connection]]:
        """A (views, events) pair for one read; given back afterwards."""
        current = (_file_id(self.views_db), _file_id(self.events_db))
        with self._lock:
            found = self._idle.pop() if self._idle else None
        if found is not None and found.ids != current:
            # The files were replaced since this pair opened them: its data is gone.
            found.close()
            found = None
        held = found if found is not None else _Pair(self.views_db, self.events_db)
        try:
            yield held.views, held.events
        except ClareError:
            # Our own refusals (no such task, a bad filter) leave the connections as they were.
            self._give_back(held)
            raise
        except BaseException:
            # Anything else may have left a statement half-read: do not reuse the pair.
            held.close()
            raise
        self._give_back(held)

    def _give_back(self, held: _Pair) -> None:
        if held.views.in_transaction or held.events.in_transaction:
            held.close()
            return
        with self._lock:
            if not self._closed and len(self._idle) < self.size:
                self._idle.append(held)
                return
        held.close()

    def close(self) -> None:
        """Close every idle pair; pairs in use close when they are given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for held in idle:
            held.close()
