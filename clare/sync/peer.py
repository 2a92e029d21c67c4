"""One link to one peer: what we know of it, what is in flight, and its timers.

A :class:`PeerLink` is bookkeeping with no decisions about the store; the
:class:`~clare.sync.node.SyncNode` that owns all links makes those, because
planning what to fetch needs every link at once (so two peers are not asked
for the same range). Everything here is driven by ``now_ms`` values the node
is given, never by a clock of its own.

Liveness: a link starts down. Any message from the peer brings it up; silence
for ``peer_timeout_ms`` takes it down, which gives up the requests waiting on
the peer (their ranges become free to ask anyone) and stops pushes to it.
While down, we send a Hello every heartbeat interval as a probe.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from clare.sync.config import SyncConfig
    from clare.sync.messages import Request
    from clare.sync.vector import Range


@dataclass(frozen=True, slots=True)
class Pending:
    """A request we sent and whose batch has not arrived."""

    ranges: tuple[Range, ...]
    max_events: int
    sent_ms: int


@dataclass(slots=True)
class PeerStats:
    """Counters for ``clare sync status``; they only grow, and reset with the node."""

    events_received: int = 0  # new to us, from this peer's batches and pushes
    events_sent: int = 0  # in batches we served and pushes we made
    batches_received: int = 0
    pushes_dropped: int = 0  # arrived while our ingest window for the peer was full
    clock_ahead: int = 0  # events refused for now: stamped too far in our future
    conflicts: int = 0  # events refused for good
    protocol_errors: int = 0  # malformed or unsolicited messages from the peer
    errors_received: int = 0  # Error messages the peer sent us
    request_timeouts: int = 0
    requests_dropped: int = 0  # peer asked beyond our serve window and queue
    late_batches: int = 0  # batches for requests we had given up
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """A snapshot of one link, for status displays."""

    name: str
    origin: str | None
    up: bool
    last_heard_ms: int | None
    we_lack: int  # events the peer advertised that we do not hold
    they_lack: int  # events we hold beyond the peer's last advert
    outstanding_requests: int
    stats: PeerStats
    clock_offset_ms: int | None = None  # the peer's clock minus ours, from its last advert
    request_events: int | None = None  # events asked per request: what the peer fits in a batch


@dataclass
class PeerLink:
    """State of our link to one peer."""

    name: str
    config: SyncConfig
    rng: Callable[[], float]
    now_ms: int
    origin: str | None = None  # the peer's own origin id, from its Hello
    clock_offset_ms: int | None = None
    up: bool = False
    last_heard_ms: int | None = None
    last_sent_ms: int = 0
    next_round_ms: int = 0
    last_error_reply_ms: int | None = None
    #: The peer's vector as of its last Advert or Hello (lowered if it fails to serve).
    known: dict[str, int] = field(default_factory=dict)
    awaiting: dict[int, Pending] = field(default_factory=dict)
    batch_ingests: int = 0  # batches from this peer the writer is ingesting
    push_ingests: int = 0
    serve_queue: deque[Request] = field(default_factory=deque)
    serving: set[int] = field(default_factory=set)  # read tokens in progress
    stats: PeerStats = field(default_factory=PeerStats)
    #: Events asked for per request, and the most ever asked while the link is up:
    #: they shrink to what the peer fits in one batch (clare.sync.batches.request_size).
    request_events: int = 0
    request_cap: int = 0

    def __post_init__(self) -> None:
        self.request_events = self.request_cap = self.config.batch_max_events
        self.last_sent_ms = self.now_ms
        self.schedule_round(self.now_ms)

    def free_slots(self) -> int:
        """How many more requests the flow-control window allows."""
        return self.config.window - len(self.awaiting) - self.batch_ingests

    def heard(self, now_ms: int) -> bool:
        """The peer spoke; returns True if that brings the link up."""
        self.last_heard_ms = now_ms
        if self.up:
            return False
        self.up = True
        # The peer may have restarted with other bounds: learn them again.
        self.request_events = self.request_cap = self.config.batch_max_events
        self.schedule_round(now_ms)
        return True

    def sent(self, now_ms: int) -> None:
        self.last_sent_ms = now_ms

    def schedule_round(self, now_ms: int) -> None:
        """Next anti-entropy round, jittered so hosts do not fall into lockstep."""
        jitter = self.config.round_jitter * (2.0 * self.rng() - 1.0)
        self.next_round_ms = now_ms + max(1, round(self.config.round_interval_ms * (1 + jitter)))

    def silent_too_long(self, now_ms: int) -> bool:
        heard = self.last_heard_ms if self.last_heard_ms is not None else self.now_ms
        return self.up and now_ms - heard >= self.config.peer_timeout_ms

    def expired(self, now_ms: int) -> list[int]:
        """Requests unanswered past the timeout; they are forgotten here."""
        limit = self.config.request_timeout_ms
        gone = [rid for rid, p in self.awaiting.items() if now_ms - p.sent_ms >= limit]
        for rid in gone:
            del self.awaiting[rid]
        self.stats.request_timeouts += len(gone)
        return gone

    def reset(self) -> list[int]:
        """Forget what was in flight with the peer (it went down or restarted).

        Returns the request ids given up. Batches already handed to the writer
        stay counted until the writer answers: that memory is still in use.
        """
        gone = list(self.awaiting)
        self.awaiting.clear()
        self.serve_queue.clear()
        self.serving.clear()
        return gone

    def go_down(self) -> list[int]:
        self.up = False
        return self.reset()

    def deadline_ms(self) -> int:
        """The earliest time :meth:`SyncNode.tick` has something to do for this link."""
        times = [self.last_sent_ms + self.config.heartbeat_interval_ms]
        if self.up:
            times.append(self.next_round_ms)
            heard = self.last_heard_ms if self.last_heard_ms is not None else self.now_ms
            times.append(heard + self.config.peer_timeout_ms)
        times.extend(p.sent_ms + self.config.request_timeout_ms for p in self.awaiting.values())
        return min(times)

    def status(self, we_lack: int, they_lack: int) -> PeerStatus:
        return PeerStatus(
            name=self.name,
            origin=self.origin,
            up=self.up,
            last_heard_ms=self.last_heard_ms,
            we_lack=we_lack,
            they_lack=they_lack,
            outstanding_requests=len(self.awaiting) + self.batch_ingests,
            stats=replace(self.stats),
            clock_offset_ms=self.clock_offset_ms,
            request_events=self.request_events,
        )
