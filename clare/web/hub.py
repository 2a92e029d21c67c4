"""Fan-out from the bus to every open SSE stream, without letting one slow browser stall the rest.

One task owns each SUB socket (the writer's events, the projector's view
notices) and hands what it reads to the ``Hub``. The hub copies each item into
every subscriber's own bounded memory channel with ``send_nowait``: it never
waits on a subscriber. The channel is bounded in items and in bytes: a
subscriber that would pass either bound has its queue emptied (the memory
goes back at once, not when its client reads) and is marked ``lagged``; its
stream then reads what it missed from the events DB, the same way a gap on
the bus is repaired (ARCHITECTURE invariant 5). Streams are counted: past
``max_streams`` a new one is refused (``TooManyStreams``) rather than served.

The hub also tells the node's feeds whether anyone listens (``Demand``):
with no stream open the web node has no use for the writer's events, nor,
unless an action waits for its write to show, for the projector's notices;
receiving them cost it a wake-up per commit beside a busy writer.
"""

from __future__ import annotations

import contextlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import trio

from clare.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.core.events import Event

#: Items a subscriber may have waiting before it is marked lagged.
SUBSCRIBER_BUFFER = 256
#: Bytes of events a subscriber may have waiting (see ``item_bytes``) before it lags.
SUBSCRIBER_BUFFER_BYTES = 256 * 1024
MAX_STREAMS = 100
#: What an item costs beyond its body: the event's ids and stamps, the frame around it.
ITEM_OVERHEAD_BYTES = 256
#: Entity ids kept per kind in a notice (a refold names them all; "all" says as much).
MAX_CHANGED = 1000


@dataclass(frozen=True)
class ViewNotice:
    """The projector's "views changed" doorbell: its position and what changed."""

    position: int
    changed: dict[str, list[str]] = field(default_factory=dict)


def merge_notices(notices: list[ViewNotice]) -> ViewNotice:
    """Several notices as one: the furthest position, and everything any of them changed.

    A page acts on a notice by reloading what changed, so one merged notice
    has the effect of the several it replaces.
    """
    if len(notices) == 1:
        return notices[0]
    changed: dict[str, dict[str, None]] = {}
    for notice in notices:
        for kind, ids in notice.changed.items():
            changed.setdefault(kind, {}).update(dict.fromkeys(ids))
    return ViewNotice(
        max(n.position for n in notices),
        {kind: list(ids)[:MAX_CHANGED] for kind, ids in changed.items()},
    )


class Lagged:
    """Left in an emptied queue, so its stream wakes and catches up at once."""


LAGGED = Lagged()
#: What a subscription's channel carries.
Item: TypeAlias = "Event | ViewNotice | Lagged"


def item_bytes(item: Item) -> int:
    """About what an item costs held in memory and framed for a client."""
    if isinstance(item, Lagged):
        return 0
    if isinstance(item, ViewNotice):
        return ITEM_OVERHEAD_BYTES + sum(16 * len(ids) for ids in item.changed.values())
    return ITEM_OVERHEAD_BYTES + len(item.body)


class TooManyStreams(ServiceUnavailable):
    """Every stream slot is taken; the client should retry later (HTTP 503)."""

    code = "too_many_streams"


class Subscription:
    """One stream's view of the hub: a channel bounded in items and bytes, a lagged flag."""

    def __init__(self, buffer: int, max_bytes: int = SUBSCRIBER_BUFFER_BYTES) -> None:
        self._send, self.receive = trio.open_memory_channel[Any](buffer)
        self.max_bytes = max_bytes
        self.pending_bytes = 0
        self.lagged = False
        self.dropped = 0

    def offer(self, item: Event | ViewNotice) -> None:
        size = item_bytes(item)
        if self.pending_bytes + size > self.max_bytes:
            self._overflow()
            return
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self._overflow()
        except trio.ClosedResourceError:
            pass
        else:
            self.pending_bytes += size

    def _overflow(self) -> None:
        """Forget what waits (the stream reads it again from the store) and say so.

        The marker left behind wakes a stream that would otherwise sleep on an
        empty queue until the next commit or heartbeat before catching up.
        """
        self.lagged = True
        self.dropped += 1
        while True:
            try:
                item = self.receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            self.dropped += not isinstance(item, Lagged)
        self.pending_bytes = 0
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError):
            self._send.send_nowait(LAGGED)

    async def receive_batch(self, limit: int) -> list[Item]:
        """The next item, and whatever else is already waiting (up to ``limit``)."""
        items: list[Item] = [await self.receive.receive()]
        while len(items) < limit:
            try:
                items.append(self.receive.receive_nowait())
            except trio.WouldBlock:
                break
        self.pending_bytes = max(0, self.pending_bytes - sum(map(item_bytes, items)))
        return items

    def close(self) -> None:
        self._send.close()


class Demand:
    """How many want a feed, and a way to wait until someone does."""

    def __init__(self) -> None:
        self.count = 0
        self._wanted = trio.Event()

    def add(self) -> None:
        self.count += 1
        self._wanted.set()

    def remove(self) -> None:
        self.count -= 1
        if not self.count:
            self._wanted = trio.Event()

    async def wait(self) -> None:
        """Return once someone wants the feed (at once if someone does)."""
        await self._wanted.wait()


class Hub:
    """What the web node knows of the bus, and who is listening."""

    def __init__(
        self,
        *,
        buffer: int = SUBSCRIBER_BUFFER,
        buffer_bytes: int = SUBSCRIBER_BUFFER_BYTES,
        max_streams: int = MAX_STREAMS,
    ) -> None:
        self._buffer = buffer
        self._buffer_bytes = buffer_bytes
        self.max_streams = max_streams
        self._subs: set[Subscription] = set()
        self.last_seq = 0
        self.view_position = 0
        self.closed = False
        self._view_moved = trio.Event()
        #: Streams want the writer's events; streams and actions waiting on the views
        #: want the projector's notices.
        self.events_demand = Demand()
        self.views_demand = Demand()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription for one stream; ``TooManyStreams`` when every slot is taken."""
        if len(self._subs) >= self.max_streams:
            raise TooManyStreams(
                f"this Clare serves {self.max_streams} live streams at once ([web] max_streams); "
                "try again shortly"
            )
        sub = Subscription(self._buffer, self._buffer_bytes)
        if self.closed:
            sub.close()
        self._subs.add(sub)
        self.events_demand.add()
        self.views_demand.add()
        try:
            yield sub
        finally:
            self._subs.discard(sub)
            sub.close()
            self.events_demand.remove()
            self.views_demand.remove()

    def publish_event(self, event: Event) -> None:
        self.publish_events([event])

    def publish_events(self, events: list[Event]) -> None:
        """Events as they came off the bus, in order."""
        if not events:
            return
        self.last_seq = max(self.last_seq, max(e.seq for e in events))
        for sub in list(self._subs):
            for event in events:
                sub.offer(event)

    def publish_view(self, notice: ViewNotice) -> None:
        self.view_position = max(self.view_position, notice.position)
        self._view_moved.set()
        self._view_moved = trio.Event()
        for sub in list(self._subs):
            sub.offer(notice)

    async def wait_view_moved(self) -> None:
        """Return at the next view notice (used to wait for read-your-writes)."""
        self.views_demand.add()
        try:
            await self._view_moved.wait()
        finally:
            self.views_demand.remove()

    def close(self) -> None:
        """End every stream: their channels close, so their loops finish at once."""
        self.closed = True
        for sub in list(self._subs):
            sub.close()
