"""``GET /api/v1/stream``: committed events and view notices as server-sent events.

Strategy: subscribe to the hub first, then read the position to start from
(``Last-Event-ID``, else ``?after=``, else the newest event), replay from the
events DB everything after it, then go live. Whatever arrives live while the
replay runs waits in the subscription and is skipped if the replay already
sent it; a gap on the bus, or a subscription that overflowed, is filled from
the events DB again. So a client sees every committed event once, in order.

A second task waits for ``http.disconnect``: closing the tab ends the stream
(and frees its subscription) at once, not at the next write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from clare.events import Event
from clare.logs import get
from clare.store import queries
from clare.store import views as views_mod
from clare.web import reads, sse

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

    from clare.web.context import WebContext
    from clare.web.hub import Subscription, ViewNotice

log = get("clare.web")

HEARTBEAT_S = 15.0
#: When a new stream reads the store once more (see ``_serve``).
RECHECK_S = 0.5
#: Items taken from the hub per wake-up: a burst becomes one write, not one each.
MAX_BATCH = 256
REPLAY_BATCH = 500
#: A client further behind than this is told to reload instead of being replayed to.
MAX_REPLAY = 20_000


class EventStream:
    """The ASGI app behind ``/api/v1/stream``."""

    def __init__(self, ctx: WebContext, *, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.ctx = ctx
        self.heartbeat_s = heartbeat_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = dict(
            part.split("=", 1) if "=" in part else (part, "")
            for part in scope.get("query_string", b"").decode("latin-1").split("&")
            if part
        )
        start = sse.parse_position(headers.get("last-event-id"))
        if start is None:
            start = sse.parse_position(query.get("after"))
        async with trio.open_nursery() as nursery:

            async def until_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                nursery.cancel_scope.cancel()

            nursery.start_soon(until_disconnect)
            await self._serve(send, start)
            nursery.cancel_scope.cancel()

    async def _serve(self, send: Send, start: int | None) -> None:
        hub = self.ctx.hub
        with hub.subscribe() as sub:
            newest, position = await self.ctx.read(
                lambda views, events: (reads.last_seq(events), views_mod.position(views))
            )
            cursor = sse.Cursor(newest if start is None else min(start, newest))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"text/event-stream; charset=utf-8"),
                        (b"cache-control", b"no-store"),
                        (b"x-accel-buffering", b"no"),
                    ],
                }
            )
            names: dict[str, str] = {}
            hello = {"after": cursor.last, "newest": newest, "view_position": position}
            await self._write(send, sse.preamble() + sse.frame(hello, event="hello"))
            await self._replay(send, cursor, names)
            recheck_at: float | None = trio.current_time() + RECHECK_S
            while True:
                wake_at = trio.current_time() + self.heartbeat_s
                if recheck_at is not None:
                    wake_at = min(wake_at, recheck_at)
                items: list[Event | ViewNotice] | None = None
                with trio.move_on_at(wake_at):
                    try:
                        items = await _receive_all(sub.receive)
                    except (trio.EndOfChannel, trio.ClosedResourceError):
                        break  # the hub closed: the node is stopping
                if items is not None:
                    # Outside the deadline: a delivery is never cut off halfway.
                    await self._deliver(send, items, cursor, names, sub)
                elif recheck_at is not None and trio.current_time() >= recheck_at:
                    # The node's feed may have subscribed to the writer's events only
                    # when this stream opened, and a subscription takes effect a moment
                    # later: whatever was committed in that moment is read here.
                    recheck_at = None
                    await self._replay(send, cursor, names)
                else:
                    await self._write(send, sse.comment("ping"))
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _deliver(
        self,
        send: Send,
        items: list[Event | ViewNotice],
        cursor: sse.Cursor,
        names: dict[str, str],
        sub: Subscription,
    ) -> None:
        """What the hub handed over since the last wake-up, written as one chunk."""
        if sub.lagged:
            sub.lagged = False
            await self._replay(send, cursor, names)
        chunks: list[bytes] = []
        for item in items:
            if isinstance(item, Event):
                admit = cursor.admit(item.seq)
                if admit is sse.Admit.GAP:
                    await self._write(send, b"".join(chunks))
                    chunks = []
                    await self._replay(send, cursor, names)
                elif admit is sse.Admit.SEND:
                    chunks.append(self._frame(item, names))
                    cursor.sent(item.seq)
            else:
                if "hosts" in item.changed or "all" in item.changed:
                    names.update(await self.ctx.read(lambda v, _e: queries.host_names(v)))
                data = {"position": item.position, "changed": item.changed}
                chunks.append(sse.frame(data, event="view"))
        if chunks:
            await self._write(send, b"".join(chunks))

    def _frame(self, event: Event, names: dict[str, str]) -> bytes:
        return sse.frame(queries.event_dict(event, names), event="event", event_id=event.seq)

    async def _write(self, send: Send, data: bytes) -> None:
        if data:
            await send({"type": "http.response.body", "body": data, "more_body": True})

    async def _replay(self, send: Send, cursor: sse.Cursor, names: dict[str, str]) -> None:
        """Send every stored event after the cursor, in batches, read off the loop."""
        while True:
            after = cursor.last

            def batch(
                views: Any, events: Any, after: int = after
            ) -> tuple[list[Event], dict[str, str], int]:
                return (
                    reads.events_after(events, after, REPLAY_BATCH),
                    queries.host_names(views),
                    reads.last_seq(events),
                )

            found, fresh_names, newest = await self.ctx.read(batch)
            names.update(fresh_names)
            if newest - after > MAX_REPLAY:
                log.info("stream client too far behind; told to reload", behind=newest - after)
                cursor.sent(newest)
                await self._write(send, sse.frame({"newest": newest}, event="reset"))
                return
            await self._send_events(send, cursor, found, names)
            if len(found) < REPLAY_BATCH:
                return

    async def _send_events(
        self, send: Send, cursor: sse.Cursor, events: list[Event], names: dict[str, str]
    ) -> None:
        chunks = []
        for event in events:
            if cursor.admit(event.seq) is sse.Admit.STALE:
                continue
            chunks.append(self._frame(event, names))
            cursor.sent(event.seq)
        if chunks:
            await self._write(send, b"".join(chunks))


async def _receive_all(
    receive: trio.MemoryReceiveChannel[Event | ViewNotice],
) -> list[Event | ViewNotice]:
    """The next item, and whatever else is already waiting (up to ``MAX_BATCH``)."""
    items = [await receive.receive()]
    while len(items) < MAX_BATCH:
        try:
            items.append(receive.receive_nowait())
        except trio.WouldBlock:
            break
    return items
