"""The contiguous top of one origin's sequence numbers.

Shared by the store (the version vector it reports) and sync (what a peer
lacks): both ask "up to which seq is every event held, with no gap below".
It sits in core, not in sync, so a node that only stores events does not load
the sync protocol to answer it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def contiguous_top(top: int, ascending: Iterable[tuple[int]]) -> int:
    """Walk an origin's contiguous top forward over the seqs held above it.

    ``top`` is a top already known (every seq ``1..top`` is held);
    ``ascending`` are the held seqs above it as ``(seq,)`` rows, in ascending
    order: the rows an SQLite cursor yields, taken as they are because
    unpacking them here is the cheapest way (a walk may cover a million). The
    walk stops at the first gap, so a cursor is read no further than the gap.
    """
    for (seq,) in ascending:
        if seq != top + 1:
            break
        top = seq
    return top
