"""Follow the writer: events off the doorbell while they follow on, the rest from SQLite.

Invariant 5 in one place. The writer's PUB is a doorbell, not delivery: a
subscriber that starts misses what was published before its subscription
took effect (the slow joiner), a slow one loses what passes the high-water
mark, and a writer that restarts publishes before its subscribers are back.
Every published event carries its local ``seq``, and the store has them all,
so a follower takes events off the bus while their seqs follow on from the
last one handed out, reads the store on a gap, and skips what the store
already gave it.

Two parts. :class:`FollowCursor` is the pure decision: for each seq, hand it
out, skip it (stale) or read the gap first; and whether a loss may have gone
unseen. :func:`follow` is the one loop every follower runs (the projector, the
gossip node's tail, each SSE stream) over a ``ring`` (the next burst off the
doorbell, as the follower receives it) and a ``read_after`` (a batch of stored
events past a seq).

No timer runs while nothing happens. The last message before a quiet spell
is the one loss a follower cannot see (nothing comes after it to show the
gap), so the store is read once more after ``recheck_s`` of quiet, but only
while a loss is *possible*: after the start (the slow joiner), after a gap,
after the follower said it missed something (:data:`MISSED`: a full queue,
a reconnection). A quiet re-check that finds nothing disarms it; one that
finds something was a real loss and stays armed.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Final, TypeVar

import trio

from clare.core.events import Event

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence

T = TypeVar("T")

#: Seconds of quiet after a possible loss before the store is read once more.
RECHECK_S: Final = 1.0


class Missed(enum.Enum):
    """Put in a burst by a follower that knows something was lost at that point."""

    MISSED = "missed"


#: Something may have been lost here: read the store before going on.
MISSED: Final = Missed.MISSED


class Admit(enum.Enum):
    SEND = "send"
    STALE = "stale"  # at or below what was handed out: the store already gave it
    GAP = "gap"  # something between the last one handed out and this one was lost


class FollowCursor:
    """The last seq handed out, and whether a loss may have gone unseen."""

    def __init__(self, last: int, *, armed: bool = True) -> None:
        self.last = last
        #: Read the store once more after a quiet spell (see the module's docstring).
        self.armed = armed

    def admit(self, seq: int) -> Admit:
        """What to do with ``seq`` off the doorbell."""
        if seq <= self.last:
            return Admit.STALE
        if seq == self.last + 1:
            return Admit.SEND
        return Admit.GAP

    def sent(self, seq: int) -> None:
        self.last = max(self.last, seq)

    def skip_to(self, seq: int) -> None:
        """Go on from ``seq``, leaving out what lies before it (a client told to reload)."""
        self.sent(seq)

    def gap(self) -> None:
        """A loss was seen: after reading it, one more may follow unseen."""
        self.armed = True

    def rechecked(self, found: bool) -> None:
        """A quiet re-check read the store: keep watching only if it found a loss."""
        self.armed = found


async def follow(
    ring: Callable[[], Awaitable[Sequence[Event | Missed | T]]],
    read_after: Callable[[int], Awaitable[Sequence[Event]]],
    cursor: FollowCursor,
    *,
    recheck_s: float = RECHECK_S,
) -> AsyncGenerator[Sequence[Event | T], None]:
    """Every event stored after ``cursor.last``, once each and in seq order, as it comes.

    ``ring()`` waits for the next burst off the doorbell: events, and items of
    the follower's own (``T``: a view notice, a heartbeat), which are passed
    through in their place. The subscription must exist before ``cursor.last``
    was read, so nothing falls between them. ``read_after(seq)`` returns the
    next stored events after ``seq`` in seq order (empty once there are none);
    it may move ``cursor`` itself (:meth:`FollowCursor.skip_to`). Each yielded
    list is one burst's worth; one from the store is one ``read_after`` batch.
    The store is read first, so a follower starts caught up.
    """
    async for stored in _read_stored(read_after, cursor):
        yield stored
    while True:
        burst: Sequence[Event | Missed | T] | None = None
        if cursor.armed:
            with trio.move_on_after(recheck_s):
                burst = await ring()
            if burst is None:
                before = cursor.last
                async for stored in _read_stored(read_after, cursor):
                    yield stored
                cursor.rechecked(found=cursor.last != before)
                continue
        else:
            burst = await ring()
        out: list[Event | T] = []
        for item in burst:
            if isinstance(item, Event):
                admit = cursor.admit(item.seq)
                if admit is Admit.STALE:
                    continue
                if admit is Admit.SEND:
                    out.append(item)
                    cursor.sent(item.seq)
                    continue
            elif item is not MISSED:
                out.append(item)
                continue
            # A gap, or a loss the follower saw: what came before goes out first.
            cursor.gap()
            if out:
                yield out
                out = []
            async for stored in _read_stored(read_after, cursor):
                yield stored
        if out:
            yield out


async def _read_stored(
    read_after: Callable[[int], Awaitable[Sequence[Event]]], cursor: FollowCursor
) -> AsyncIterator[list[Event]]:
    while True:
        rows = await read_after(cursor.last)
        fresh: list[Event] = []
        for event in rows:
            # The store holds every seq: what it returns after the cursor follows on.
            if event.seq > cursor.last:
                fresh.append(event)
                cursor.sent(event.seq)
        if not fresh:
            return
        yield fresh
