"""The real :class:`~clare.sync.log.LocalLog`: reads from SQLite, ingests through the writer.

Sync never writes the events DB itself (one writer per file, invariant 2):
reads go to a read-only connection, and ingests become the writer's
``ingest`` command, which applies the rules of :mod:`clare.sync.log` in one
transaction. The command is sent by whoever holds the log: the blocking
``ingest`` takes a ``call`` function (tests, tools); the gossip node sends the
command itself, with :func:`ingest_args`, and turns the reply into an
:class:`~clare.sync.log.IngestResult` with :meth:`SqliteLog.result_of`.

The contiguous top of an origin is kept per origin and only ever walked
forward from where it was, so an ingest costs a look at the seqs it added,
not a scan of the table (a host catching up on a million events asks this
after every batch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, ProtocolError, StorageError
from clare.core.events import Event
from clare.runtime.logs import get
from clare.store import eventlog
from clare.store.sqlite import reading
from clare.sync.log import IngestResult
from clare.sync.messages import event_to_wire, event_wire_size

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from clare.sync.vector import Range

log = get("clare.gossip")


def ingest_args(events: Sequence[Event], peer: str = "") -> dict[str, Any]:
    """The arguments of the writer's ``ingest`` command for these events.

    The writer takes an event as the same ``[id, origin, origin_seq, hlc, kind,
    body]`` list it travels in between hosts. ``peer`` names who sent them, so
    an event refused for a taken slot is recorded with its sender.
    """
    return {"events": [event_to_wire(e) for e in events], "peer": peer}


class SqliteLog:
    """A host's events DB as sync sees it. Not thread-safe: use it from one thread at a time."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        call: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.conn = conn
        self._call = call
        self._tops: dict[str, int] = {}

    def vector(self) -> dict[str, int]:
        with reading("the version vector"):
            vector = eventlog.version_vector(self.conn)
        self._tops.update(vector)
        return vector

    def read(self, ranges: Sequence[Range], max_events: int, max_bytes: int) -> list[Event]:
        out: list[Event] = []
        size = 0
        with reading("events"):
            for r in ranges:
                rows = eventlog.read_range(
                    self.conn, r.origin, r.first, r.last, max_events - len(out)
                )
                expected = r.first
                for event in rows:
                    if event.origin_seq != expected:
                        break  # a gap: the range is served up to it, no further
                    expected += 1
                    size += event_wire_size(event)
                    if out and (len(out) >= max_events or size > max_bytes):
                        return out
                    out.append(event)
                if len(out) >= max_events:
                    return out
        return out

    def ingest(self, events: Sequence[Event]) -> IngestResult:
        if self._call is None:
            raise StorageError("this log was opened read-only: it has no writer to ingest through")
        return self.result_of(events, self._call("ingest", ingest_args(events)))

    def result_of(self, events: Sequence[Event], reply: dict[str, Any]) -> IngestResult:
        """Read the writer's ``ingest`` reply for ``events`` as an IngestResult."""
        new = _stored(events, reply)
        refused: dict[str, str] = {}
        for item in reply.get("rejected", []):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                refused.setdefault(item["id"], str(item.get("code", "conflict")))
        ahead: list[Event] = []
        conflicts: list[Event] = []
        removed: list[Event] = []
        sorts = {"clock_ahead": ahead, "removed": removed}
        if refused:
            for event in events:
                if event.id in refused:
                    sorts.get(refused[event.id], conflicts).append(event)
        duplicates = reply.get("duplicates", 0)
        return IngestResult(
            new=tuple(new),
            duplicates=duplicates if isinstance(duplicates, int) else 0,
            clock_ahead=tuple(ahead),
            conflicts=tuple(conflicts),
            removed=tuple(removed),
            vector={o: self.top(o) for o in sorted({e.origin for e in events})},
        )

    def top(self, origin: str) -> int:
        """The highest seq of ``origin`` stored with no gap below it."""
        with reading(f"seqs of {origin}"):
            top = eventlog.contiguous_after(self.conn, origin, self._tops.get(origin, 0))
        if top:
            self._tops[origin] = top
        return top


def _stored(events: Sequence[Event], reply: dict[str, Any]) -> list[Event]:
    """The events the writer stored now, with their seqs, from the reply's ``new_runs``.

    Each run ``[first index, first seq, count]`` says that ``events[index + k]``
    was stored at ``seq + k``: a batch stored whole is one run.
    """
    runs = reply.get("new_runs")
    if not isinstance(runs, list):
        raise ProtocolError("the writer's ingest reply lacks the runs of new events")
    new: list[Event] = []
    for run in runs:
        if not (
            isinstance(run, list)
            and len(run) == 3
            and all(type(n) is int for n in run)
            and run[0] >= 0
            and run[1] > 0
            and run[2] > 0
            and run[0] + run[2] <= len(events)
        ):
            raise ProtocolError(f"the writer's ingest reply has a bad run {run!r:.60}")
        index, seq, n = run
        new.extend(_with_seq(events[index + k], seq + k) for k in range(n))
    return new


def _with_seq(event: Event, seq: int) -> Event:
    return Event(seq, event.id, event.origin, event.origin_seq, event.hlc, event.kind, event.body)


def read_slot_conflicts(events_db: Path) -> tuple[int, list[dict[str, Any]]]:
    """How many events were refused for a slot another event holds, and the newest.

    Read on a connection of its own: status is rare, and the store's
    connection belongs to the worker threads.
    """
    try:
        conn = eventlog.open_events_reader(events_db)
    except ClareError:
        return 0, []
    try:
        with reading("slot conflicts"):
            return eventlog.slot_conflict_count(conn), eventlog.slot_conflicts(conn, 10)
    except ClareError as exc:  # a writer not yet past the migration that adds them
        log.warning("slot conflicts not readable", error=str(exc))
        return 0, []
    finally:
        conn.close()
