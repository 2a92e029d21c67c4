"""Fan-out from the bus to every open SSE stream, without letting one slow browser stall the rest.

One task owns each SUB socket (the writer's events, the projector's view
notices) and hands what it reads to the ``Hub``. The hub copies each item into
every subscriber's own bounded memory channel with ``send_nowait``: it never
waits on a subscriber. A subscriber whose buffer is full misses the item and
is marked ``lagged``; its stream then reads what it missed from the events
DB, the same way a gap on the bus is repaired (ARCHITECTURE invariant 5).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.events import Event

#: Items a subscriber may have waiting before it is marked lagged.
SUBSCRIBER_BUFFER = 256


@dataclass(frozen=True)
class ViewNotice:
    """The projector's "views changed" doorbell: its position and what changed."""

    position: int
    changed: dict[str, list[str]] = field(default_factory=dict)


class Subscription:
    """One stream's view of the hub: a bounded channel and a lagged flag."""

    def __init__(self, buffer: int) -> None:
        self._send, self.receive = trio.open_memory_channel[Any](buffer)
        self.lagged = False
        self.dropped = 0

    def offer(self, item: Event | ViewNotice) -> None:
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self.lagged = True
            self.dropped += 1
        except trio.ClosedResourceError:
            pass

    def close(self) -> None:
        self._send.close()


class Hub:
    """What the web node knows of the bus, and who is listening."""

    def __init__(self, *, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self._buffer = buffer
        self._subs: set[Subscription] = set()
        self.last_seq = 0
        self.view_position = 0
        self.closed = False
        self._view_moved = trio.Event()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        sub = Subscription(self._buffer)
        if self.closed:
            sub.close()
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            sub.close()

    def publish_event(self, event: Event) -> None:
        self.last_seq = max(self.last_seq, event.seq)
        for sub in list(self._subs):
            sub.offer(event)

    def publish_view(self, notice: ViewNotice) -> None:
        self.view_position = max(self.view_position, notice.position)
        self._view_moved.set()
        self._view_moved = trio.Event()
        for sub in list(self._subs):
            sub.offer(notice)

    async def wait_view_moved(self) -> None:
        """Return at the next view notice (used to wait for read-your-writes)."""
        await self._view_moved.wait()

    def close(self) -> None:
        """End every stream: their channels close, so their loops finish at once."""
        self.closed = True
        for sub in list(self._subs):
            sub.close()
