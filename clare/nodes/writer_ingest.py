"""The writer's half of sync: storing events another host wrote.

The gossip node hands over batches of remote events with the ``ingest`` op.
Each is checked (shape, body, clock, that it does not claim to be ours),
stored once (uuid and ``(origin, origin_seq)`` dedup; a different event for
a slot already held is refused and recorded in ``slot_conflicts``), and folded into the
writer's cache, inside the writer's transaction like any command. The reply
names what was stored now as runs of request positions and seqs, so the
answer kept for a resend stays a few bytes however large the batch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import msgpack

from clare.core import hlc as hlc_mod
from clare.core.errors import ClareError, ProtocolError, UsageError
from clare.core.events import Event
from clare.core.hlc import ClockAheadError
from clare.domain.fold import meta_of
from clare.domain.registry import decode as decode_domain
from clare.runtime.logs import get

if TYPE_CHECKING:
    from clare.core.hlc import HybridClock
    from clare.domain.cache import EntityCache
    from clare.domain.events import DomainEvent
    from clare.store.eventlog import EventLog

log = get("clare.writer")

MAX_INGEST_EVENTS = 10_000


class RemoteIngest:
    """Stores remote events for the writer; counts what it refused."""

    def __init__(self, log: EventLog, cache: EntityCache, clock: HybridClock) -> None:
        self.log = log
        self.cache = cache
        self.clock = clock
        self.rejected = 0
        self._removed: dict[str, int] = {}
        self.slot_conflicts = 0

    def ingest(self, args: dict[str, Any], committed: list[Event]) -> dict[str, Any]:
        raw = args.get("events")
        if not isinstance(raw, list) or len(raw) > MAX_INGEST_EVENTS:
            raise UsageError(f"ingest takes a list of at most {MAX_INGEST_EVENTS} events")
        peer = args.get("peer", "")
        if not isinstance(peer, str):
            raise UsageError("ingest's peer must be a peer name")
        peer = peer[:64]
        # Origins put out of the fleet: their events stamped after the removal are
        # refused for good, whoever relays them (docs/sync-protocol.md, "Membership").
        self._removed = self.cache.fleet().removed_origins()
        checked = [self._check(item, peer) for item in raw]
        # A clock that accepts the newest stamp of a batch accepts them all, so a
        # batch pays one clock check; only one with a stamp too far ahead is
        # looked at event by event, to refuse just those.
        stamps = [c[0].hlc for c in checked if isinstance(c, tuple)]
        per_event = bool(stamps) and self._ahead(max(stamps)) is not None
        rejected: list[dict[str, str]] = []
        # (position in the request, event, its decoded domain event) of each to store.
        accepted: list[tuple[int, Event, DomainEvent | None]] = []
        for index, outcome in enumerate(checked):
            if isinstance(outcome, dict):
                rejected.append(outcome)
                continue
            event, domain_event = outcome
            ahead = self._ahead(event.hlc) if per_event else None
            if ahead is not None:
                rejected.append({"id": event.id, "reason": ahead, "code": ClockAheadError.code})
                continue
            accepted.append((index, event, domain_event))
        outcomes = self.log.append_remote_many(
            [(event, d.entity if d is not None else "") for _, event, d in accepted]
        )
        stored = duplicates = 0
        runs = _Runs()
        for (index, event, domain_event), new in zip(accepted, outcomes, strict=True):
            if new is None:
                has_id, has_slot = self.log.holds(event.id, event.origin, event.origin_seq)
                if has_id and has_slot:
                    duplicates += 1
                else:
                    if has_slot:
                        self._slot_taken(event, peer)
                    # The id or the slot is taken by a different event: refused for good.
                    reason = (
                        "its id is stored at another (origin, origin_seq)"
                        if has_id
                        else "another event holds its (origin, origin_seq)"
                    )
                    rejected.append({"id": event.id, "reason": reason, "code": "conflict"})
                continue
            if domain_event is not None:
                self.cache.applied(domain_event.entity, domain_event, meta_of(new))
            committed.append(new)
            runs.add(index, new.seq)
            stored += 1
        if stored:
            # Our clock moves past the newest stamp received (each was checked above).
            self.clock.receive(max(e.hlc for _, e, _ in accepted))
        if rejected:
            self.rejected += len(rejected)
            log.warning("remote events rejected", count=len(rejected), first=rejected[0])
        return {
            "stored": stored,
            "duplicates": duplicates,
            "rejected": rejected,
            "new_runs": runs.runs,
        }

    def _slot_taken(self, event: Event, peer: str) -> None:
        """Two different events for one slot: the first stored keeps it, this one is recorded.

        Which one is genuine cannot be told here (an allowed peer may relay any
        origin's events); recording it makes the loss visible in ``clare sync
        status`` and the doctor instead of silent.
        """
        held = self.log.held_at(event.origin, event.origin_seq) or ""
        if not self.log.record_slot_conflict(event, held, peer, time.time_ns() // 1_000_000):
            return  # offered again (anti-entropy asks each round): recorded once
        self.slot_conflicts += 1
        log.error(
            "two events for one slot: the second is refused and recorded",
            origin=event.origin,
            origin_seq=event.origin_seq,
            refused=event.id,
            held=held,
            peer=peer,
        )

    def _check(
        self, item: object, peer: str = ""
    ) -> tuple[Event, DomainEvent | None] | dict[str, str]:
        """The event and its domain event, or the rejection of a malformed or forged one."""
        try:
            event, data = _remote_event(item)
        except ProtocolError as exc:
            item_id = str(item[0]) if isinstance(item, list) and item else ""
            return {"id": item_id, "reason": str(exc), "code": "malformed"}
        if event.origin == self.log.machine_id:
            has_id, _ = self.log.holds(event.id, event.origin, event.origin_seq)
            if not has_id:
                # A forgery of one of our slots, taken or still to come: the hosts
                # that store it will never take our real event for that slot.
                self._slot_taken(event, peer)
                return {
                    "id": event.id,
                    "reason": "claims to come from this host, which never made it",
                    "code": "conflict",
                }
        removed_at = self._removed.get(event.origin)
        if removed_at is not None and event.hlc > removed_at:
            return {
                "id": event.id,
                "reason": "its origin was removed from the fleet before it was made",
                "code": "removed",
            }
        # Decoded once, for both the entity column and the writer's cache. An
        # unknown kind (from a newer peer) or an unfoldable body is stored all
        # the same, just not folded.
        try:
            return event, decode_domain(event.kind, data)
        except ClareError:
            return event, None

    def _ahead(self, stamp: int) -> str | None:
        """Why ``stamp`` is refused for now (too far in our future), or None."""
        try:
            self.clock.check(stamp)
        except ClockAheadError as exc:
            return str(exc)
        return None


class _Runs:
    """Which events of a request were stored, and at which seqs, in a few numbers.

    A batch stored whole takes consecutive seqs, so ``[[first index, first seq,
    count], ...]`` is one triple for a whole batch of thousands: the reply, which
    is kept for idempotency and read by the gossip node, stays a few bytes.
    """

    def __init__(self) -> None:
        self.runs: list[list[int]] = []

    def add(self, index: int, seq: int) -> None:
        if self.runs:
            last = self.runs[-1]
            if last[0] + last[2] == index and last[1] + last[2] == seq:
                last[2] += 1
                return
        self.runs.append([index, seq, 1])


def _remote_event(item: object) -> tuple[Event, dict[str, Any]]:
    if not isinstance(item, list | tuple) or len(item) != 6:
        raise ProtocolError("a remote event is [id, origin, origin_seq, hlc, kind, body]")
    event_id, origin, origin_seq, stamp, kind, body = item
    if not (isinstance(event_id, str) and 0 < len(event_id) <= 64):
        raise ProtocolError("bad event id")
    if not (isinstance(origin, str) and 0 < len(origin) <= 64):
        raise ProtocolError("bad origin")
    if not (isinstance(origin_seq, int) and 0 < origin_seq < 2**62):
        raise ProtocolError("bad origin_seq")
    if not (
        isinstance(stamp, int) and 0 < stamp <= hlc_mod.pack(hlc_mod.MS_MAX, hlc_mod.COUNTER_MAX)
    ):
        raise ProtocolError("bad hlc")
    if not (isinstance(kind, str) and 0 < len(kind) <= 64):
        raise ProtocolError("bad kind")
    if not isinstance(body, bytes):
        raise ProtocolError("bad body")
    event = Event(0, event_id, origin, origin_seq, stamp, kind, body)
    try:
        data = event.data()
    except (ValueError, msgpack.UnpackException) as exc:
        raise ProtocolError(f"event {event_id} body is not a msgpack map") from exc
    return event, data


def remote_event_wire(event: Event) -> list[Any]:
    """The form ``ingest`` takes an event in."""
    return [event.id, event.origin, event.origin_seq, event.hlc, event.kind, event.body]
