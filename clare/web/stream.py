"""``GET /api/v1/stream``: committed events and view notices as server-sent events.

Strategy: subscribe to the hub first, then read the position to start from
(``Last-Event-ID``, else ``?after=``, else the newest event), and follow the
writer from there (:mod:`clare.store.follow`): replay from the events DB
everything after it, then go live. Whatever arrives live while the replay
runs waits in the subscription and is skipped if the replay already sent it;
a gap on the bus, or a subscription that overflowed, is filled from the
events DB again. So a client sees every committed event once, in order.

A second task waits for ``http.disconnect``: closing the tab ends the stream
(and frees its subscription) at once, not at the next write.

Memory is bounded per stream whatever the client does: the hub queue is
bounded in bytes (``[web] stream_buffer_bytes``), each replay batch is cut at
the same bound, and each write hands the server at most ``WRITE_CHUNK_BYTES``.
A client that reads nothing blocks its stream in one write; the kernel
disconnects it after ``[web] stall_timeout_s`` (see ``nodes.web``) and it
resumes with ``Last-Event-ID``. Streams are capped (``[web] max_streams``):
one more is answered 503 with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import enum
import json
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import trio

from clare.core.events import Event
from clare.runtime.logs import get
from clare.store import queries_events, queries_hosts
from clare.store import views as views_mod
from clare.store.follow import MISSED, FollowCursor, Missed, follow
from clare.web import reads, sse
from clare.web.hub import Lagged, TooManyStreams, ViewNotice, item_bytes

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Sequence

    from starlette.types import Receive, Scope, Send

    from clare.web.context import WebContext
    from clare.web.hub import Item, Subscription

log = get("clare.web")

HEARTBEAT_S = 15.0
#: Quiet seconds after a possible loss (a new stream, a lag) before the store is read again.
RECHECK_S = 0.5
#: Items taken from the hub per wake-up: a burst becomes one write, not one each.
MAX_BATCH = 256
REPLAY_BATCH = 500
#: Rows read per query of a replay: a batch stops within one page of its byte bound.
REPLAY_PAGE = 50
#: The most handed to the server in one write; a stalled client holds no more than this.
WRITE_CHUNK_BYTES = 64 * 1024
#: Seconds a refused stream is told to wait before trying again.
RETRY_AFTER_S = 5
#: A client further behind than this is told to reload instead of being replayed to.
MAX_REPLAY = 20_000


class _Beat(enum.Enum):
    """What a stream writes that is neither an event nor a notice."""

    PING = "ping"  # a quiet heartbeat: keeps proxies and idle links open
    VIEWS_LOST = "views-lost"  # notices were dropped with a lag: refresh everything


class EventStream:
    """The ASGI app behind ``/api/v1/stream``."""

    def __init__(
        self, ctx: WebContext, *, heartbeat_s: float = HEARTBEAT_S, batch_bytes: int | None = None
    ) -> None:
        self.ctx = ctx
        self.heartbeat_s = heartbeat_s
        #: The byte bound of one replay batch (by default the hub's per-stream bound).
        self.batch_bytes = batch_bytes or ctx.config.web_stream_buffer_bytes

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
        with contextlib.ExitStack() as stack:
            try:
                sub = stack.enter_context(self.ctx.hub.subscribe())
            except TooManyStreams as exc:
                await _refuse(send, exc)
                return
            async with trio.open_nursery() as nursery:

                async def until_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until_disconnect)
                await self._serve(send, start, sub)
                nursery.cancel_scope.cancel()

    async def _serve(self, send: Send, start: int | None, sub: Subscription) -> None:
        newest, position = await self.ctx.read(
            lambda views, events: (reads.last_seq(events), views_mod.position(views))
        )
        cursor = FollowCursor(newest if start is None else min(start, newest))
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

        async def ring() -> list[Event | ViewNotice | Missed | _Beat]:
            """The next items off the hub; a ping after a quiet heartbeat."""
            items: list[Item] | None = None
            with trio.move_on_after(self.heartbeat_s):
                items = await sub.receive_batch(MAX_BATCH)
            if items is None:
                return [_Beat.PING]
            out: list[Event | ViewNotice | Missed | _Beat] = []
            if sub.lagged:
                # What the hub dropped is read again from the store; view notices
                # were dropped with it, so the page refreshes whatever it shows.
                sub.lagged = False
                out += [MISSED, _Beat.VIEWS_LOST]
            out += [item for item in items if not isinstance(item, Lagged)]
            return out

        complete_at: int | None = None

        async def read_after(after: int) -> list[Event]:
            nonlocal complete_at
            if complete_at == after:
                complete_at = None  # the last batch said it was the last
                return []
            found, complete, newest = await self._read_batch(after, names)
            if newest - after > MAX_REPLAY:
                log.info("stream client too far behind; told to reload", behind=newest - after)
                cursor.skip_to(newest)
                await self._write(send, sse.frame({"newest": newest}, event="reset"))
                return []
            if complete and found:
                complete_at = found[-1].seq
            return found

        # The node's feed may subscribe to the writer's events only when this stream
        # opens, and a subscription takes effect a moment later: whatever was
        # committed in that moment is read by the follower's re-check.
        following: AsyncGenerator[Sequence[Event | ViewNotice | _Beat], None] = follow(
            ring, read_after, cursor, recheck_s=RECHECK_S
        )
        try:
            async with aclosing(following) as batches:
                async for batch in batches:
                    await self._deliver(send, batch, names)
        except (trio.EndOfChannel, trio.ClosedResourceError):
            pass  # the hub closed: the node is stopping
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _deliver(
        self, send: Send, batch: Sequence[Event | ViewNotice | _Beat], names: dict[str, str]
    ) -> None:
        """One batch from the follower, written as one chunk."""
        chunks: list[bytes] = []
        for item in batch:
            if isinstance(item, Event):
                chunks.append(self._frame(item, names))
            elif item is _Beat.PING:
                chunks.append(sse.comment("ping"))
            elif item is _Beat.VIEWS_LOST:
                lost = {"position": self.ctx.hub.view_position, "changed": {"all": []}}
                chunks.append(sse.frame(lost, event="view"))
            elif isinstance(item, ViewNotice):
                if "hosts" in item.changed or "all" in item.changed:
                    names.update(await self.ctx.read(lambda v, _e: queries_hosts.host_names(v)))
                data = {"position": item.position, "changed": item.changed}
                chunks.append(sse.frame(data, event="view"))
        if chunks:
            await self._write(send, b"".join(chunks))

    def _frame(self, event: Event, names: dict[str, str]) -> bytes:
        return sse.frame(queries_events.event_dict(event, names), event="event", event_id=event.seq)

    async def _write(self, send: Send, data: bytes) -> None:
        """Hand ``data`` to the server in pieces of at most ``WRITE_CHUNK_BYTES``."""
        view = memoryview(data)
        for at in range(0, len(view), WRITE_CHUNK_BYTES):
            piece = bytes(view[at : at + WRITE_CHUNK_BYTES])
            await send({"type": "http.response.body", "body": piece, "more_body": True})

    async def _read_batch(self, after: int, names: dict[str, str]) -> tuple[list[Event], bool, int]:
        """Stored events after ``after`` bounded in count and bytes; complete?; the newest."""
        max_bytes = self.batch_bytes

        def batch(views: Any, events: Any) -> tuple[list[Event], bool, dict[str, str], int]:
            found, complete = read_batch(events, after, REPLAY_BATCH, max_bytes)
            return found, complete, queries_hosts.host_names(views), reads.last_seq(events)

        found, complete, fresh_names, newest = await self.ctx.read(batch)
        names.update(fresh_names)
        return found, complete, newest


def read_batch(
    events: Any, after: int, max_events: int, max_bytes: int
) -> tuple[list[Event], bool]:
    """Stored events after ``after``: at most ``max_events``, stopping once past ``max_bytes``.

    Read a page at a time, so a batch of large events is never all loaded to be
    cut afterwards. Also says whether the store has nothing more after them.
    """
    found: list[Event] = []
    size = 0
    while len(found) < max_events and size < max_bytes:
        want = min(REPLAY_PAGE, max_events - len(found))
        page = reads.events_after(events, after, want)
        for taken, event in enumerate(page, 1):
            found.append(event)
            size += item_bytes(event)
            after = event.seq
            if size >= max_bytes:
                # Cut inside the page: whatever it held after this one is still unsent.
                return found, taken == len(page) and len(page) < want
        if len(page) < want:
            return found, True
    return found, False


async def _refuse(send: Send, exc: TooManyStreams) -> None:
    body = json.dumps({"error": {"code": exc.code, "message": str(exc)}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
