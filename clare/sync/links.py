"""Which fleet members a host links to: a bounded, symmetric choice. Pure.

Every host computes the same choice from the same membership, so a link one
host picks is picked by the other end too (a link needs both: each side sends
on its own connection). Members are put on a ring in key order and each host
links to those at ring distances 1, 2, 4, 8, ... on both sides, a whole
distance at a time, while that keeps it within ``max_links``. The ring at
distance 1 alone connects everyone; the longer chords make any event reach
every host in about log2(n) relays. Up to ``max_links + 1`` members this is a
full mesh.

On top, a host always links to the member that introduced it and to those it
introduced: the one link a new host knows of before it has learnt the rest of
the fleet, and which its introducer must therefore keep as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class Seat:
    """What the choice needs of one member."""

    key: str
    origin: str
    #: Origins of the members that introduced it (one join may be recorded by both ends).
    introducers: frozenset[str] = frozenset()


def choose_links(members: Sequence[Seat], me: str, max_links: int) -> set[str]:
    """The keys of the members ``me`` (a key) links to; empty if it is not a member."""
    ring = sorted({m.key for m in members})
    if me not in ring:
        return set()
    n = len(ring)
    here = ring.index(me)
    chosen: set[str] = set()
    distance = 1
    while distance < n:
        level = {ring[(here + distance) % n], ring[(here - distance) % n]} - {me}
        if chosen and len(chosen | level) > max_links:
            break
        chosen |= level
        distance *= 2
    own = next(m for m in members if m.key == me)
    for m in members:
        if m.key != me and (m.origin in own.introducers or own.origin in m.introducers):
            chosen.add(m.key)
    return chosen
