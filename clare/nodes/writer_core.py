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

from clare.bus import rpc
from clare.core.errors import ClareError, StorageError
from clare.core.events import Event, encode_body
from clare.domain.cache import EntityCache
from clare.domain.decide import Context
from clare.domain.fold import meta_of
from clare.domain.registry import decide
from clare.nodes.writer_ingest import RemoteIngest
from clare.runtime.logs import get
from clare.store import eventlog, replies
from clare.store.sqlite import transaction

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Sequence

    from clare.core.hlc import HybridClock

log = get("clare.writer")

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
        self.ingest = RemoteIngest(self.log, self.cache, self.clock)
        self._next_prune_ms = 0
        # Group commit at work: commands answered and transactions they shared.
        self.commands_answered = 0
        self.commits = 0
        #: Why the last batch could not be written (a full disk), until one is again.
        self.storage_error: str | None = None

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
        committed: list[Event] = []
        try:
            with transaction(self.conn):
                self._prune_now_and_then()
                # Answers given before (a resend) and in this batch (a duplicate).
                answered = replies.stored(self.conn, (request.id for _, request in pending))
                new_answers: list[tuple[str, bytes]] = []
                for identity, request in pending:
                    reply = answered.get(request.id)
                    if reply is None and request.op == "ping":
                        # Health, not stored: it changes nothing.
                        reply = rpc.encode_ok(request.id, self.status())
                    elif reply is None:
                        reply = self._handle(request, committed)
                        new_answers.append((request.id, reply))
                    answered[request.id] = reply
                    outcome.replies.append((identity, reply))
                replies.store(self.conn, new_answers, time.time_ns() // 1_000_000)
        except StorageError as exc:
            log.error("batch not written", error=str(exc), commands=len(pending))
            self.storage_error = str(exc)
            self.log.reload()
            self.cache.clear()
            outcome.replies = malformed + [
                (identity, rpc.encode_error(request.id, exc)) for identity, request in pending
            ]
            return outcome
        outcome.committed = committed
        if new_answers:
            self.storage_error = None  # something was written: storage works again
        self.commands_answered += len(pending)
        self.commits += 1
        return outcome

    def _prune_now_and_then(self) -> None:
        now = time.time_ns() // 1_000_000
        if now >= self._next_prune_ms:
            self._next_prune_ms = now + PRUNE_EVERY_MS
            pruned = replies.prune(self.conn, now - REPLY_TTL_MS)
            if pruned:
                log.info("old command answers forgotten", count=pruned)

    def _handle(self, request: rpc.Request, committed: list[Event]) -> bytes:
        try:
            if request.op == "ingest":
                result = self.ingest.ingest(request.args, committed)
            else:
                result = self._decide(request, committed)
            return rpc.encode_ok(request.id, result)
        except ClareError as exc:
            return rpc.encode_error(request.id, exc)

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

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "machine_id": self.log.machine_id,
            "seq": self.log.last_seq,
            "hlc": self.clock.last,
            "rejected_remote": self.ingest.rejected,
            "commands": self.commands_answered,
            "commits": self.commits,
            "storage_error": self.storage_error,
        }
