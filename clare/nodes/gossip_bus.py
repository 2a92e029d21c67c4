"""What the gossip node needs of its own host's bus: committed events, and writer clients.

The writer's PUB is a doorbell, not delivery (invariant 5): events are taken
from it while their seqs follow on, and read from SQLite after a gap (a
slow-joiner loss, a high-water-mark drop), through :mod:`clare.store.follow`.
"""

from __future__ import annotations

from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING

import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import SUB_HWM
from clare.nodes.writer_feed import decode_burst
from clare.runtime.logs import get
from clare.store import eventlog
from clare.store.follow import FollowCursor, Missed, follow

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import AsyncIterator, Awaitable, Callable

    from clare.bus.zsock import TrioSocket
    from clare.core.events import Event

log = get("clare.gossip")

TAIL_BATCH = 5000
UNHURRIED_S = 0.1


@asynccontextmanager
async def open_client_pool(
    endpoint: str, size: int
) -> AsyncIterator[
    tuple[trio.MemoryReceiveChannel[AsyncCommandClient], trio.MemorySendChannel[AsyncCommandClient]]
]:
    """``size`` writer clients to borrow from the first channel and give back to the second.

    Several, so ingests of different batches reach the writer together and
    share one group commit (each client sends one command at a time).
    """
    clients = [AsyncCommandClient(endpoint, timeout_s=10.0) for _ in range(size)]
    send, receive = trio.open_memory_channel[AsyncCommandClient](size)
    for client in clients:
        send.send_nowait(client)
    try:
        yield receive, send
    finally:
        for client in clients:
            client.close()


async def follow_writer(
    sub: TrioSocket,
    conn: sqlite3.Connection,
    position: int,
    committed: Callable[[list[Event]], Awaitable[None]],
    *,
    unhurried: Callable[[], bool] = lambda: False,
) -> None:
    """Hand every event committed after ``position`` to ``committed``, in seq order.

    ``sub`` is subscribed to the writer's PUB (before ``position`` was read);
    ``conn`` reads the events DB for what the PUB lost (:mod:`clare.store.follow`).
    While ``unhurried()`` (no peer to push to), commits are taken
    ``UNHURRIED_S`` at a time: every one still arrives, in order, but a burst
    of commands wakes this node a few times a second instead of once per
    commit, beside a writer that needs the cores.
    """

    async def ring() -> list[Event | Missed]:
        first = await sub.recv()
        if unhurried():
            # A sleep, not a receive with a timeout: a cancelled receive could
            # drop the message it had just taken.
            await trio.sleep(UNHURRIED_S)
        return decode_burst([first, *sub.recv_waiting(TAIL_BATCH - 1)], SUB_HWM)

    async def read_after(seq: int) -> list[Event]:
        return await trio.to_thread.run_sync(eventlog.read_after, conn, seq, TAIL_BATCH)

    async with aclosing(follow(ring, read_after, FollowCursor(position))) as batches:
        async for batch in batches:
            await committed(list(batch))
