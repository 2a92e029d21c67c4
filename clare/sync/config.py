"""The knobs of the sync core, with the defaults a LAN deployment starts from."""

from __future__ import annotations

from dataclasses import dataclass

from clare.sync.messages import MAX_EVENTS, MAX_FRAME_BYTES


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """Bounds and timers of one host's sync core. Times are milliseconds.

    Memory held for incoming events is bounded by
    ``peers * (window + max_push_ingests) * batch_max_bytes``; memory held for
    outgoing batches by ``peers * serve_window * batch_max_bytes``.
    """

    #: One batch: at most this many events, and about this many bytes. A batch is
    #: one ingest command, so one fsync on the receiving host: catching up on a
    #: million events is bound by how many of those it pays (2048 events per
    #: batch ingest 1.5x faster than 512). The bytes stay well inside the bus's
    #: 4 MiB frame, which the ingest command must fit in.
    batch_max_events: int = 2048
    batch_max_bytes: int = 2 * 1024 * 1024
    #: Requests we keep open to one peer, counting batches still being ingested.
    window: int = 4
    #: Reads we run at once for one peer, and requests we queue beyond those.
    serve_window: int = 2
    serve_queue: int = 8
    #: Pushes from one peer being ingested at once; more are dropped.
    max_push_ingests: int = 4
    #: Anti-entropy: an Advert to each peer every round, +/- jitter (a fraction).
    round_interval_ms: int = 2000
    round_jitter: float = 0.25
    #: Something is sent to each peer at least this often (a Heartbeat if idle).
    heartbeat_interval_ms: int = 1000
    #: A peer silent this long is down: its requests are given up, pushes stop.
    peer_timeout_ms: int = 5000
    #: A request unanswered this long is given up and its ranges asked again.
    request_timeout_ms: int = 10_000
    #: After an origin's events are refused as clock-ahead, wait before asking again.
    reject_backoff_ms: int = 1000
    #: At most one Error reply per peer this often, whatever the peer sends.
    error_reply_interval_ms: int = 1000
    max_frame_bytes: int = MAX_FRAME_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.batch_max_events <= MAX_EVENTS:
            raise ValueError(f"batch_max_events must be in 1..{MAX_EVENTS}")
        if not 1 <= self.batch_max_bytes <= self.max_frame_bytes // 2:
            raise ValueError("batch_max_bytes must leave room in a frame (at most half of it)")
        for name in ("window", "serve_window", "max_push_ingests"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.serve_queue < 0:
            raise ValueError("serve_queue must not be negative")
        if not 0.0 <= self.round_jitter < 1.0:
            raise ValueError("round_jitter is a fraction in [0, 1)")
        if self.peer_timeout_ms <= self.heartbeat_interval_ms:
            raise ValueError("peer_timeout_ms must exceed heartbeat_interval_ms")
