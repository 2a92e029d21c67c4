"""What the events table holds of each host, kept up to date by reading only new rows.

The hosts panel and ``/api/v1/status`` show, per origin, how many events are
here, the highest ``origin_seq``, the newest stamp, and the contiguous prefix
(the version vector). Computed from scratch that is a scan of the whole
events table: a quarter of a second at a million events, for every page load
after any new event.

The events table only grows, and its local ``seq`` is the order rows were
committed in: a reader that has seen every row up to ``seq`` S sees the
next rows as exactly ``seq > S``. So the tally reads those and merges them
in. A contiguous prefix never shrinks either, so it is walked forward from
where it stood, over the ``(origin, origin_seq)`` index. If the table is not
the one tallied (its row at S is another event, or it holds fewer rows: the
instance was made afresh), the tally starts over.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.store import eventlog

if TYPE_CHECKING:
    import sqlite3


@dataclass(frozen=True)
class Held:
    """One origin's events in this host's table."""

    events: int
    top: int  # the highest origin_seq held
    newest_hlc: int
    contiguous: int  # the highest origin_seq with every one below it held


class OriginTally:
    """Per-origin counts of one events table; ``update`` is safe from several threads."""

    def __init__(self) -> None:
        self._seq = 0
        self._mark: str | None = None  # the id of the event at ``_seq``
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()

    @property
    def seq(self) -> int:
        """The last event seq the tally covers."""
        return self._seq

    def update(self, events: sqlite3.Connection) -> tuple[int, dict[str, Held]]:
        """Bring the tally up to the table's newest event: that seq, and the tally by origin.

        The dict returned is never changed afterwards (a later update makes a new one).
        """
        # One thread reads at a time: the others wait and then find nothing new.
        with self._lock:
            newest = eventlog.last_seq(events)
            if newest < self._seq or (self._seq and _id_at(events, self._seq) != self._mark):
                self._seq, self._mark, self._held = 0, None, {}
            if newest > self._seq:
                self._merge(events, self._seq, newest)
                self._seq, self._mark = newest, _id_at(events, newest)
            return self._seq, self._held

    def _merge(self, events: sqlite3.Connection, after: int, upto: int) -> None:
        held = dict(self._held)
        for origin, n, top, stamp in events.execute(
            "SELECT origin, COUNT(*), MAX(origin_seq), MAX(hlc) FROM events"
            " WHERE seq > ? AND seq <= ? GROUP BY origin",
            (after, upto),
        ):
            old = held.get(origin, Held(0, 0, 0, 0))
            count, top = old.events + n, max(old.top, top)
            # With as many events as the highest number, none is missing below it.
            contiguous = (
                top
                if count == top
                else eventlog.contiguous_after(events, origin, old.contiguous, upto)
            )
            held[origin] = Held(count, top, max(old.newest_hlc, stamp), contiguous)
        self._held = held


def _id_at(events: sqlite3.Connection, seq: int) -> str | None:
    row = events.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])
