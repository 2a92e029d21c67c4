"""Version vectors and the sequence ranges sync moves around.

A version vector maps each origin to the highest origin_seq a host holds with
no gap below it (ARCHITECTURE invariant 8). Two vectors say exactly which
ranges one host lacks, so hosts never trade watermarks on the HLC.

A host can also hold events *above* a gap: a pushed event whose predecessor
was lost on the way is stored at once (the projection orders by HLC, so
arrival order does not matter), but it must not raise the vector, or a peer
would conclude that the hole is filled. :class:`SeqSet` keeps both halves: the
contiguous top per origin, which is what gets advertised, and the few seqs
held above it, which planning skips so they are not fetched twice.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


@dataclass(frozen=True, slots=True, order=True)
class Range:
    """The seqs ``first..last`` (both included) of one origin."""

    origin: str
    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.last < self.first:
            raise ValueError(f"bad range {self.origin}:{self.first}..{self.last}")

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def covers(self, origin: str, seq: int) -> bool:
        return origin == self.origin and self.first <= seq <= self.last


def missing(have: Mapping[str, int], other: Mapping[str, int]) -> list[Range]:
    """The ranges ``other`` holds contiguously that ``have`` lacks, by origin."""
    return [
        Range(origin, have.get(origin, 0) + 1, top)
        for origin, top in sorted(other.items())
        if top > have.get(origin, 0)
    ]


def count(ranges: Iterable[Range]) -> int:
    return sum(r.count for r in ranges)


def merge(a: Mapping[str, int], b: Mapping[str, int]) -> dict[str, int]:
    """The pointwise maximum: what a host knows after learning both."""
    out = dict(a)
    for origin, top in b.items():
        if top > out.get(origin, 0):
            out[origin] = top
    return out


def subtract(ranges: Iterable[Range], taken: Iterable[Range]) -> list[Range]:
    """``ranges`` without the seqs of ``taken``, still in order."""
    by_origin: dict[str, list[tuple[int, int]]] = {}
    for t in taken:
        by_origin.setdefault(t.origin, []).append((t.first, t.last))
    for spans in by_origin.values():
        spans.sort()
    out: list[Range] = []
    for r in ranges:
        start = r.first
        for first, last in by_origin.get(r.origin, ()):
            if last < start:
                continue
            if first > r.last:
                break
            if first > start:
                out.append(Range(r.origin, start, first - 1))
            start = max(start, last + 1)
            if start > r.last:
                break
        if start <= r.last:
            out.append(Range(r.origin, start, r.last))
    return out


def chunks(ranges: Iterable[Range], max_events: int, max_ranges: int) -> Iterator[list[Range]]:
    """Cut ``ranges`` into requests of at most ``max_events`` seqs and ``max_ranges`` ranges.

    Lazy, so a host a million events behind only materialises the few chunks
    its flow-control window lets it ask for.
    """
    if max_events < 1 or max_ranges < 1:
        raise ValueError("chunks need room for at least one event and one range")
    chunk: list[Range] = []
    room = max_events
    for r in ranges:
        first = r.first
        while first <= r.last:
            last = min(r.last, first + room - 1)
            chunk.append(Range(r.origin, first, last))
            room -= last - first + 1
            first = last + 1
            if room == 0 or len(chunk) == max_ranges:
                yield chunk
                chunk, room = [], max_events
    if chunk:
        yield chunk


class SeqSet:
    """The (origin, seq) pairs a host holds: a contiguous top per origin plus seqs above it."""

    def __init__(self, vector: Mapping[str, int] | None = None) -> None:
        self._top: dict[str, int] = {o: t for o, t in (vector or {}).items() if t > 0}
        self._above: dict[str, list[int]] = {}  # sorted, every seq > top + 1

    def vector(self) -> dict[str, int]:
        """The honest version vector: contiguous tops only."""
        return dict(self._top)

    def top(self, origin: str) -> int:
        return self._top.get(origin, 0)

    def has(self, origin: str, seq: int) -> bool:
        if seq <= self._top.get(origin, 0):
            return True
        above = self._above.get(origin, [])
        i = bisect.bisect_left(above, seq)
        return i < len(above) and above[i] == seq

    def add(self, origin: str, seq: int) -> bool:
        """Record one seq; returns False if it was already held."""
        if seq < 1:
            raise ValueError(f"seq must be positive, got {seq}")
        if self.has(origin, seq):
            return False
        top = self._top.get(origin, 0)
        if seq == top + 1:
            self._raise_top(origin, seq)
        else:
            bisect.insort(self._above.setdefault(origin, []), seq)
        return True

    def raise_top(self, origin: str, top: int) -> None:
        """Learn that every seq up to ``top`` is held (from the store's own vector)."""
        if top > self._top.get(origin, 0):
            self._raise_top(origin, top)

    def held_above(self, origin: str) -> list[int]:
        return list(self._above.get(origin, ()))

    def lacking(self, other: Mapping[str, int]) -> list[Range]:
        """What ``other`` holds contiguously that this set does not, skipping seqs held above."""
        held = [
            Range(origin, seq, seq) for origin, seqs in sorted(self._above.items()) for seq in seqs
        ]
        return subtract(missing(self._top, other), held)

    def _raise_top(self, origin: str, top: int) -> None:
        above = self._above.pop(origin, [])
        i = bisect.bisect_right(above, top)
        # Seqs parked above the old gap may now continue the prefix.
        while i < len(above) and above[i] == top + 1:
            top = above[i]
            i += 1
        self._top[origin] = top
        if i < len(above):
            self._above[origin] = above[i:]
