"""Answering peers' requests: one bounded read, then one batch, per request.

The serving side never decides to send events on its own (pushes aside):
each Request is a credit the peer granted, and its answer is bounded by the
smaller of the peer's limits and ours. At most ``serve_window`` reads run
for one peer at a time and ``serve_queue`` more wait; anything beyond is
dropped, since an honest peer never asks for more than its window and a
dropped request only costs it a timeout. So one peer catching up cannot make
us hold more than a few batches for it, nor crowd out the others' reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.sync.actions import ReadEvents
from clare.sync.batches import served_to
from clare.sync.messages import Batch, Request

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from clare.core.events import Event
    from clare.sync.config import SyncConfig
    from clare.sync.peer import PeerLink


@dataclass(frozen=True, slots=True)
class _ReadJob:
    peer: str
    request: Request


class Server:
    """The serving half of a :class:`~clare.sync.node.SyncNode`."""

    def __init__(self, config: SyncConfig, next_token: Callable[[], int]) -> None:
        self.config = config
        self._next_token = next_token
        self._reads: dict[int, _ReadJob] = {}

    def request(self, link: PeerLink, request: Request) -> list[ReadEvents]:
        """Queue a peer's request, clamped to our bounds; returns the reads to start."""
        cfg = self.config
        if len(link.serve_queue) + len(link.serving) >= cfg.serve_window + cfg.serve_queue:
            link.stats.requests_dropped += 1
            return []
        link.serve_queue.append(
            Request(
                request.request_id,
                request.ranges,
                min(request.max_events, cfg.batch_max_events),
                min(request.max_bytes, cfg.batch_max_bytes),
            )
        )
        return self.dispatch(link)

    def dispatch(self, link: PeerLink) -> list[ReadEvents]:
        """Start queued reads for ``link`` while its serve window has room."""
        reads: list[ReadEvents] = []
        while link.serve_queue and len(link.serving) < self.config.serve_window:
            request = link.serve_queue.popleft()
            token = self._next_token()
            link.serving.add(token)
            self._reads[token] = _ReadJob(link.name, request)
            reads.append(
                ReadEvents(link.name, token, request.ranges, request.max_events, request.max_bytes)
            )
        return reads

    def answer(
        self,
        token: int,
        links: Mapping[str, PeerLink],
        events: Sequence[Event],
        top: Callable[[str], int] | None,
    ) -> tuple[PeerLink, Batch] | None:
        """The batch answering the read ``token``, and the link to send it on.

        ``top`` gives our contiguous top per origin, to tell the peer whether
        we stopped at a bound (``more``) or at the end of what we hold; None
        means the read failed, answered with an empty final batch. Returns
        None if the peer went away or restarted since it asked.
        """
        job = self._reads.pop(token, None)
        link = links.get(job.peer) if job else None
        if job is None or link is None or token not in link.serving:
            return None
        link.serving.discard(token)
        more = top is not None and any(
            served_to(r, events) < min(r.last, top(r.origin)) for r in job.request.ranges
        )
        link.stats.events_sent += len(events)
        return link, Batch(job.request.request_id, tuple(events), more)
