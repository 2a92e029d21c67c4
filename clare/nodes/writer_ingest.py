"""The writer's half of sync: storing events another host wrote.

The gossip node hands over batches of remote events with the ``ingest`` op.
Each is checked (shape, body, clock, that it does not claim to be ours),
stored once (uuid and ``(origin, origin_seq)`` dedup), and folded into the
writer's cache, inside the writer's transaction like any command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgpack

from clare import hlc as hlc_mod
from clare.domain.events import DomainEvent
from clare.domain.events import decode as decode_domain
from clare.domain.fold import meta_of
from clare.errors import ClareError, ProtocolError, UsageError
from clare.events import Event
from clare.hlc import ClockAheadError
from clare.logs import get

if TYPE_CHECKING:
    from clare.domain.cache import EntityCache
    from clare.hlc import HybridClock
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

    def ingest(self, args: dict[str, Any], committed: list[Event]) -> dict[str, Any]:
        raw = args.get("events")
        if not isinstance(raw, list) or len(raw) > MAX_INGEST_EVENTS:
            raise UsageError(f"ingest takes a list of at most {MAX_INGEST_EVENTS} events")
        stored = duplicates = 0
        rejected: list[dict[str, str]] = []
        # (id, local seq) of each event stored now: the gossip node relays exactly these.
        new_seqs: list[list[Any]] = []
        accepted: list[tuple[Event, DomainEvent | None]] = []
        for item in raw:
            try:
                event, data = _remote_event(item)
                refusal = self._refuse(event)
            except ProtocolError as exc:
                rejected.append(
                    {
                        "id": str(item[0]) if isinstance(item, list) and item else "",
                        "reason": str(exc),
                        "code": "malformed",
                    }
                )
                continue
            if refusal is not None:
                code, reason = refusal
                rejected.append({"id": event.id, "reason": reason, "code": code})
                continue
            # Decoded once, for both the entity column and the writer's cache. An
            # unknown kind (from a newer peer) or an unfoldable body is stored all
            # the same, just not folded.
            try:
                domain_event: DomainEvent | None = decode_domain(event.kind, data)
            except ClareError:
                domain_event = None
            accepted.append((event, domain_event))
        outcomes = self.log.append_remote_many(
            [(event, d.entity if d is not None else "") for event, d in accepted]
        )
        for (event, domain_event), new in zip(accepted, outcomes, strict=True):
            if new is None:
                has_id, has_slot = self.log.holds(event.id, event.origin, event.origin_seq)
                if has_id and has_slot:
                    duplicates += 1
                else:
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
            new_seqs.append([new.id, new.seq])
            stored += 1
        if stored:
            # Our clock moves past the newest stamp received (each was checked above).
            self.clock.receive(max(e.hlc for e, _ in accepted))
        if rejected:
            self.rejected += len(rejected)
            log.warning("remote events rejected", count=len(rejected), first=rejected[0])
        return {"stored": stored, "duplicates": duplicates, "rejected": rejected, "new": new_seqs}

    def _refuse(self, event: Event) -> tuple[str, str] | None:
        """(code, reason) if the event must not be stored: ``clock_ahead`` is for now only."""
        if event.origin == self.log.machine_id:
            has_id, _ = self.log.holds(event.id, event.origin, event.origin_seq)
            if not has_id:
                return "conflict", "claims to come from this host, which never made it"
        try:
            self.clock.check(event.hlc)
        except ClockAheadError as exc:
            return exc.code, str(exc)
        return None


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
