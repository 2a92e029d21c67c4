"""Small rules about batches of events, shared by the serving and receiving sides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.sync.messages import event_wire_size

if TYPE_CHECKING:
    from collections.abc import Sequence

    from clare.core.events import Event
    from clare.sync.config import SyncConfig
    from clare.sync.messages import Batch
    from clare.sync.peer import Pending
    from clare.sync.vector import Range


def served_to(r: Range, events: Sequence[Event]) -> int:
    """The last seq of ``r`` a batch covered, reading it as a prefix of the range."""
    return r.first - 1 + sum(1 for e in events if r.covers(e.origin, e.origin_seq))


def check_batch(batch: Batch, pending: Pending) -> str | None:
    """Why ``batch`` cannot be the answer to ``pending``, or None if it can."""
    if len(batch.events) > pending.max_events:
        return f"batch of {len(batch.events)} events for a request of {pending.max_events}"
    # Spans by origin, looked up per event: a batch of thousands against the
    # one or few ranges it answers, so the check stays a dict and a compare.
    spans: dict[str, list[tuple[int, int]]] = {}
    for r in pending.ranges:
        spans.setdefault(r.origin, []).append((r.first, r.last))
    seen: set[tuple[str, int]] = set()
    for e in batch.events:
        key = (e.origin, e.origin_seq)
        covered = False
        for first, last in spans.get(e.origin, ()):
            if first <= e.origin_seq <= last:
                covered = True
                break
        if key in seen or not covered:
            return f"batch carries {e.origin}:{e.origin_seq}, not asked for or twice"
        seen.add(key)
    return None


def request_size(size: int, cap: int, asked: int, batch: Batch, cfg: SyncConfig) -> tuple[int, int]:
    """What to ask one peer for next, ``(events per request, most ever)``, given a batch.

    A batch cut short (more to come, fewer events than ``asked``) shows what the
    peer fits in one: asking for more leaves the rest of each range to a later
    request, whose events then arrive after newer ones asked for meanwhile, and
    every entity they touch is refolded. Cut well under the byte bound, it was
    the peer's own bound on events, which then caps every later request. A full
    batch of the current size that used under half of the byte bound lets the
    size double, up to the cap.
    """
    n = len(batch.events)
    small = 2 * sum(event_wire_size(e) for e in batch.events) <= cfg.batch_max_bytes
    if batch.more and 0 < n < asked:
        return n, (n if small else cap)
    if n == asked == size < cap and small:
        return min(cap, 2 * size), cap
    return size, cap


def split(events: Sequence[Event], max_events: int, max_bytes: int) -> list[tuple[Event, ...]]:
    """Cut events into parts bounded like batches (one oversized event goes alone)."""
    out: list[tuple[Event, ...]] = []
    part: list[Event] = []
    size = 0
    for event in events:
        grow = event_wire_size(event)
        if part and (len(part) >= max_events or size + grow > max_bytes):
            out.append(tuple(part))
            part, size = [], 0
        part.append(event)
        size += grow
    if part:
        out.append(tuple(part))
    return out
