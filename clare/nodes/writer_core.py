"""The writer's decisions for one batch of commands: no sockets, testable alone.

Group commit: the node hands over every command that is waiting, this core
decides them all inside one SQLite transaction with ``synchronous=FULL``, and
only after COMMIT returns are the answers released. So an answer always means
"on disk", and one fsync is shared by the whole batch.

If the transaction fails (disk full, read-only file), nothing of the batch is
acknowledged: each command gets a ``StorageError`` answer, and the counters
and caches are re-read from disk so the next batch starts from the truth.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgpack

from clare import hlc as hlc_mod
from clare.bus import rpc
from clare.domain.cache import EntityCache
from clare.domain.decide import Context, decide
from clare.domain.events import DomainEvent
from clare.domain.events import decode as decode_domain
from clare.domain.fold import meta_of
from clare.errors import ClareError, ProtocolError, StorageError, UsageError
from clare.events import Event, encode_body
from clare.hlc import ClockAheadError, HybridClock
from clare.logs import get
from clare.store import eventlog
from clare.store.sqlite import transaction

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

log = get("clare.writer")

MAX_INGEST_EVENTS = 10_000
#: How long the answer to a command is kept for a client that resends it. A
#: client gives up after seconds; a day is far beyond any retry.
REPLY_TTL_MS = 24 * 3600 * 1000
PRUNE_EVERY_MS = 3600 * 1000


@dataclass
class BatchOutcome:
    replies: list[tuple[bytes, bytes]] = field(default_factory=list)  # (routing id, frame)
    committed: list[Event] = field(default_factory=list)


class WriterCore:
    def __init__(self, conn: sqlite3.Connection, machine_id: str, clock: HybridClock) -> None:
        self.conn = conn
        self.log = eventlog.EventLog(conn, machine_id)
        self.clock = clock
        self.clock.restore(self.log.max_hlc)
        self.ctx = Context(machine_id=machine_id)
        self.cache = EntityCache(
            load=lambda entity: eventlog.entity_events(conn, entity),
            load_prefix=lambda prefix: eventlog.entities_with_prefix(conn, prefix),
        )
        self.rejected_remote = 0
        self._next_prune_ms = 0

    # -- one batch ---------------------------------------------------------------------

    def handle_batch(self, messages: Sequence[tuple[bytes, bytes]]) -> BatchOutcome:
        """Decide, write and answer ``(routing id, request frame)`` pairs."""
        outcome = BatchOutcome()
        pending: list[tuple[bytes, rpc.Request]] = []
        malformed: list[tuple[bytes, bytes]] = []
        for identity, frame in messages:
            try:
                pending.append((identity, rpc.parse_request(frame)))
            except ClareError as exc:
                malformed.append((identity, rpc.encode_error("", exc)))
        outcome.replies.extend(malformed)
        if not pending:
            return outcome
        answered: dict[str, bytes] = {}
        committed: list[Event] = []
        try:
            with transaction(self.conn):
                self._prune_now_and_then()
                for identity, request in pending:
                    reply = answered.get(request.id) or self._handle(request, committed)
                    answered[request.id] = reply
                    outcome.replies.append((identity, reply))
        except StorageError as exc:
            log.error("batch not written", error=str(exc), commands=len(pending))
            self.log.reload()
            self.cache.clear()
            outcome.replies = malformed + [
                (identity, rpc.encode_error(request.id, exc)) for identity, request in pending
            ]
            return outcome
        outcome.committed = committed
        return outcome

    def _prune_now_and_then(self) -> None:
        now = time.time_ns() // 1_000_000
        if now >= self._next_prune_ms:
            self._next_prune_ms = now + PRUNE_EVERY_MS
            pruned = self.log.prune_replies(now - REPLY_TTL_MS)
            if pruned:
                log.info("old command answers forgotten", count=pruned)

    def _handle(self, request: rpc.Request, committed: list[Event]) -> bytes:
        stored = self.log.stored_reply(request.id)
        if stored is not None:
            return stored
        if request.op == "ping":  # health, not stored: it changes nothing
            return rpc.encode_ok(request.id, self.status())
        try:
            if request.op == "ingest":
                result = self._ingest(request.args, committed)
            else:
                result = self._decide(request, committed)
            reply = rpc.encode_ok(request.id, result)
        except ClareError as exc:
            reply = rpc.encode_error(request.id, exc)
        self.log.store_reply(request.id, reply)
        return reply

    def _decide(self, request: rpc.Request, committed: list[Event]) -> dict[str, Any]:
        decision = decide(request.op, request.args, self.cache, self.ctx)
        written = []
        for domain_event in decision.events:
            entity = domain_event.entity
            stored = self.log.append_local(
                domain_event.kind, entity, encode_body(domain_event.to_body()), self.clock.now()
            )
            self.cache.applied(entity, domain_event, meta_of(stored))
            committed.append(stored)
            written.append({"id": stored.id, "seq": stored.seq, "hlc": stored.hlc})
        return {**decision.result, "events": written}

    # -- remote events (from the gossip node) --------------------------------------------

    def _ingest(self, args: dict[str, Any], committed: list[Event]) -> dict[str, Any]:
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
                refusal = self._refuse_remote(event)
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
            self.rejected_remote += len(rejected)
            log.warning("remote events rejected", count=len(rejected), first=rejected[0])
        return {"stored": stored, "duplicates": duplicates, "rejected": rejected, "new": new_seqs}

    def _refuse_remote(self, event: Event) -> tuple[str, str] | None:
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

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "machine_id": self.log.machine_id,
            "seq": self.log.last_seq,
            "hlc": self.clock.last,
            "rejected_remote": self.rejected_remote,
        }


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
