"""What sync needs from a host's event store, and an in-memory store that does it.

The sync core never touches the store: it asks the I/O shell, through
actions, to read ranges or to ingest a batch, and is told the results. The
shell does that with a :class:`LocalLog`: the SQLite one reads through a
read-only connection and ingests through the writer; :class:`MemoryLog` is the
reference implementation the tests run against and the contract tests of the
real one can be checked by.

Ingest rules, which every implementation must follow (invariants 6 and 7):

- An event whose ``id`` is stored, at the same ``(origin, origin_seq)``, is a
  duplicate: nothing is written.
- An event that collides with a stored one on ``id`` or on
  ``(origin, origin_seq)`` but not both is a conflict: refused and reported.
  So is an event claiming to come from this host that this host never made.
- An event stamped more than the clock's bound ahead of local time is refused
  (clock ahead) and the clock is not advanced; the same event may be offered
  again later and is accepted once local time has caught up.
- Anything else is stored, even above a gap in its origin's seqs, and the
  clock applies the HLC receive rule to its stamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from clare.core.errors import ClockError
from clare.core.events import Event
from clare.sync.messages import event_wire_size
from clare.sync.vector import Range, SeqSet

if TYPE_CHECKING:
    from collections.abc import Sequence

    from clare.core.hlc import HybridClock


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What a store did with one batch of remote events."""

    new: tuple[Event, ...] = ()  # stored now, in batch order, with their local seq
    duplicates: int = 0
    clock_ahead: tuple[Event, ...] = ()  # refused for now: stamped too far in our future
    conflicts: tuple[Event, ...] = ()  # refused for good: they contradict what we hold
    #: Refused for good: their origin was removed from the fleet before it made them.
    removed: tuple[Event, ...] = ()
    #: The store's contiguous top, after this batch, for each origin in it.
    vector: dict[str, int] = field(default_factory=dict)


class LocalLog(Protocol):
    """A host's event store, as sync sees it."""

    def vector(self) -> dict[str, int]:
        """``{origin: highest contiguous origin_seq}`` of what is stored."""
        ...

    def read(self, ranges: Sequence[Range], max_events: int, max_bytes: int) -> list[Event]:
        """Stored events of ``ranges``, range by range, each in origin_seq order.

        Within a range, stop at the first seq not stored. Stop altogether once
        ``max_events`` are taken or the next event would push the total of
        :func:`~clare.sync.messages.event_wire_size` past ``max_bytes``; the
        first event is always taken, so one large event cannot wedge a peer.
        """
        ...

    def ingest(self, events: Sequence[Event]) -> IngestResult:
        """Store remote events under the ingest rules above, all in one transaction."""
        ...


class MemoryLog:
    """A :class:`LocalLog` in a list, with the writer's stamping and ingest rules."""

    def __init__(self, origin: str, clock: HybridClock) -> None:
        self.origin = origin
        self.clock = clock
        #: ``{origin: stamp}`` of removed hosts: their events stamped later are refused.
        self.removed_origins: dict[str, int] = {}
        self._events: list[Event] = []
        self._by_key: dict[tuple[str, int], Event] = {}
        self._ids: set[str] = set()
        self._seqs = SeqSet()

    def events(self) -> list[Event]:
        """Every stored event in local arrival order."""
        return list(self._events)

    def max_hlc(self) -> int:
        """What a restarting writer restores its clock from."""
        return max((e.hlc for e in self._events), default=0)

    def held_above(self, origin: str) -> list[int]:
        """Seqs of ``origin`` stored above a gap."""
        return self._seqs.held_above(origin)

    def append(self, event_id: str, kind: str, body: bytes) -> Event:
        """A local write: the next origin_seq of this host, stamped now."""
        event = Event(
            seq=0,
            id=event_id,
            origin=self.origin,
            origin_seq=self._seqs.top(self.origin) + 1,
            hlc=self.clock.now(),
            kind=kind,
            body=body,
        )
        return self._store(event)

    def vector(self) -> dict[str, int]:
        return self._seqs.vector()

    def read(self, ranges: Sequence[Range], max_events: int, max_bytes: int) -> list[Event]:
        out: list[Event] = []
        size = 0
        for r in ranges:
            for seq in range(r.first, r.last + 1):
                event = self._by_key.get((r.origin, seq))
                if event is None:
                    break
                size += event_wire_size(event)
                if out and (len(out) >= max_events or size > max_bytes):
                    return out
                out.append(event)
        return out

    def ingest(self, events: Sequence[Event]) -> IngestResult:
        new: list[Event] = []
        duplicates = 0
        ahead: list[Event] = []
        conflicts: list[Event] = []
        removed: list[Event] = []
        for event in events:
            held = self._by_key.get((event.origin, event.origin_seq))
            if event.hlc > self.removed_origins.get(event.origin, event.hlc):
                removed.append(event)
            elif held is not None and held.id == event.id:
                duplicates += 1
            elif held is not None or event.id in self._ids or event.origin == self.origin:
                conflicts.append(event)
            else:
                try:
                    self.clock.receive(event.hlc)
                except ClockError:
                    ahead.append(event)
                else:
                    new.append(self._store(event))
        touched = {e.origin for e in events}
        return IngestResult(
            new=tuple(new),
            duplicates=duplicates,
            clock_ahead=tuple(ahead),
            conflicts=tuple(conflicts),
            removed=tuple(removed),
            vector={o: self._seqs.top(o) for o in sorted(touched)},
        )

    def _store(self, event: Event) -> Event:
        stored = Event(
            seq=len(self._events) + 1,
            id=event.id,
            origin=event.origin,
            origin_seq=event.origin_seq,
            hlc=event.hlc,
            kind=event.kind,
            body=event.body,
        )
        self._events.append(stored)
        self._by_key[(stored.origin, stored.origin_seq)] = stored
        self._ids.add(stored.id)
        self._seqs.add(stored.origin, stored.origin_seq)
        return stored
