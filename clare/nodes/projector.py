"""The projector node: folds committed events into the views DB, and says what changed.

It treats the writer's PUB as a doorbell, not as delivery (invariant 5): it
catches up from SQLite on start, applies published events while they follow
on from its position, and on a gap (a slow-joiner loss or a high-water-mark
drop) reads the missing rows from the events DB (:mod:`clare.store.follow`).
No timer runs while the writer is quiet: the store is read again after a
quiet spell only while a loss may have gone unseen.

It answers two control requests on its own ROUTER: ``status`` and
``rebuild`` (so ``clare rebuild`` works while the stack runs, without two
processes writing one file).
"""

from __future__ import annotations

import functools
import math
import os
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TypeVar

import trio
import zmq

from clare.bus import envelope, rpc
from clare.bus.control import serve_control
from clare.bus.endpoints import (
    DISPATCH_TOPIC,
    PROJECTOR_CONTROL,
    PROJECTOR_VIEWS,
    SUB_HWM,
    VIEW_TOPIC,
    Endpoints,
)
from clare.bus.zsock import open_socket
from clare.core.errors import DatabaseDamaged, StorageError, UsageError
from clare.domain.kinds import DISPATCHES
from clare.nodes.writer_feed import decode_burst
from clare.runtime.logs import get
from clare.store import eventlog, views
from clare.store.eventlog import open_events_db, open_events_reader
from clare.store.follow import FollowCursor, Missed, follow
from clare.store.projection import GapError, Projection
from clare.store.views import open_views_db

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Sequence

    from clare.bus.zsock import TrioSocket
    from clare.core.events import Event
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

log = get("clare.projector")

_T = TypeVar("_T")

MAX_BATCH = 5000
#: Under load, wait this long for more events before applying what came: the
#: writer commits a group every few milliseconds, and committing a views
#: transaction (about 50 us) costs more than folding a group's events, so one
#: transaction for several groups saves CPU that the writer shares.
GATHER_S = 0.001
#: Under load means: the last batch was applied this recently. A lone command's
#: event is applied at once, so a quiet stack shows it with no added delay.
BUSY_S = 0.003
#: While the views cannot be opened or written (a full disk), retry after this,
#: doubling up to the max: quick to resume, quiet while it lasts.
WAIT_FIRST_S = 0.5
WAIT_MAX_S = 30.0


def _open_events_for_reading(paths: InstancePaths) -> Any:
    if not paths.events_db.exists():
        # Before the writer's first start: create the schema so readers can open it.
        open_events_db(paths.events_db).close()
    return open_events_reader(paths.events_db)


async def serve_projector(
    paths: InstancePaths,
    config: Config,
    *,
    gather_s: float = GATHER_S,
    busy_s: float = BUSY_S,
    task_status: trio.TaskStatus[Projection] = trio.TASK_STATUS_IGNORED,
) -> None:
    endpoints = Endpoints(paths)
    paths.ensure_runtime_dir()
    waiting = StorageWait()
    views_conn = await waiting.until_done(lambda: _open_views(paths))
    events_conn = _open_events_for_reading(paths)
    projection = Projection(views_conn, events_conn)
    send_notice, notices = trio.open_memory_channel[list[bytes]](10_000)
    try:
        async with (
            open_socket(
                zmq.SUB,
                connect=[endpoints.writer_events],
                options={zmq.SUBSCRIBE: b"ev.", zmq.RCVHWM: SUB_HWM},
            ) as sub,
            open_socket(
                zmq.PUB, bind=endpoints.ipc(PROJECTOR_VIEWS), options={zmq.SNDHWM: 100_000}
            ) as pub,
            trio.open_nursery() as nursery,
        ):
            try:
                caught = await waiting.until_done(projection.catch_up)
            except DatabaseDamaged as exc:
                # Damage found while reading: the views are disposable, the events
                # are not. Start over from a fresh file rather than crash-loop.
                views_conn.close()
                moved = views.set_aside(paths.views_db)
                log.error("views DB damaged; rebuilding", error=str(exc), moved_to=str(moved))
                views_conn = await waiting.until_done(lambda: open_views_db(paths.views_db))
                projection = Projection(views_conn, events_conn)
                caught = await waiting.until_done(projection.catch_up)
            log.info("projector ready", position=projection.position, caught_up=caught)
            nursery.start_soon(_publish, pub, notices)
            await nursery.start(
                serve_control,
                endpoints.ipc(PROJECTOR_CONTROL),
                functools.partial(_control, projection, send_notice=send_notice),
            )
            task_status.started(projection)
            applied_at = -math.inf

            async def ring() -> list[Event | Missed]:
                pending = [await sub.recv()]
                _drain(sub, pending)
                if len(pending) < MAX_BATCH and trio.current_time() - applied_at < busy_s:
                    # A sleep, not a receive with a timeout: a cancelled receive
                    # could drop the message it had just taken.
                    await trio.sleep(gather_s)
                    _drain(sub, pending)
                return decode_burst(pending, SUB_HWM)

            async def read_after(seq: int) -> list[Event]:
                # On the node's own thread: the views' transaction follows at once,
                # and a gap is short (a start's long catch-up was done above).
                return eventlog.read_after(events_conn, max(seq, projection.position), MAX_BATCH)

            cursor = FollowCursor(projection.position)
            async with aclosing(follow(ring, read_after, cursor)) as batches:
                async for batch in batches:
                    changed = _apply(projection, batch)
                    applied_at = trio.current_time()
                    if changed:
                        _ring(send_notice, projection.position, changed)
    finally:
        views_conn.close()
        events_conn.close()


def _open_views(paths: InstancePaths) -> sqlite3.Connection:
    views_conn, moved = views.open_or_replace(paths.views_db)
    if moved is not None:
        log.error("views DB was damaged: set aside, rebuilding from events", moved_to=str(moved))
    return views_conn


class StorageWait:
    """Runs a step of the views' start until it succeeds, waiting out a full disk.

    A full disk (or a lock, an I/O error) is not damage: the views file is
    sound and the events are safe, so the projector waits and tries again,
    with a growing pause, instead of setting the file aside or crash-looping.
    Damage itself (:class:`DatabaseDamaged`) is raised for the caller to
    repair. ``reason`` says what is being waited for (logged once per change;
    ``clare status`` and the doctor see the full disk itself).
    """

    def __init__(self, first_s: float = WAIT_FIRST_S, max_s: float = WAIT_MAX_S) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self.reason: str | None = None

    async def until_done(self, step: Callable[[], _T]) -> _T:
        pause = self.first_s
        while True:
            try:
                result = step()
            except DatabaseDamaged:
                raise
            except StorageError as exc:
                if self.reason != str(exc):
                    log.error("views wait for storage; retrying", error=str(exc))
                self.reason = str(exc)
                await trio.sleep(pause)
                pause = min(pause * 2, self.max_s)
                continue
            if self.reason is not None:
                log.info("storage usable again; views resume")
                self.reason = None
            return result


def _drain(sub: TrioSocket, pending: list[Any]) -> None:
    """Take the messages already waiting on ``sub``, up to a batch."""
    pending.extend(sub.recv_waiting(MAX_BATCH - len(pending)))


def _apply(projection: Projection, batch: Sequence[Event]) -> dict[str, set[str]]:
    """Fold a batch that follows on from the views' position (the follower saw to it).

    A rebuild moves the position past what the follower handed out, so what
    comes after it may be at or below it: ``apply`` skips that. Should the
    batch not follow on after all, the store is read from the position.
    """
    try:
        return projection.apply(batch)
    except GapError:
        changed: dict[str, set[str]] = {}
        before = projection.position
        projection.catch_up(changed=changed)
        log.info("gap filled from the store", start=before, end=projection.position)
        return changed


#: The key a notice gives after a rebuild: every entity may have changed.
REBUILT = "all"


def _notice(position: int, changed: dict[str, set[str]]) -> bytes:
    return envelope.encode(
        envelope.VIEW,
        {"position": position, "changed": {k: sorted(v)[:1000] for k, v in changed.items()}},
    )


def _ring(
    send_notice: trio.MemorySendChannel[list[bytes]], position: int, changed: dict[str, set[str]]
) -> None:
    """Publish that the views moved; and, on a topic of its own, that dispatch requests did.

    The dispatcher subscribes to that topic alone: ZeroMQ filters on the
    publisher's side, so the commits of tasks, sessions and messages (nearly
    all of them) never wake it.
    """
    notice = _notice(position, changed)
    topics = [VIEW_TOPIC]
    if DISPATCHES.name in changed or REBUILT in changed:
        topics.append(DISPATCH_TOPIC)
    for topic in topics:
        # A notice is a doorbell: if the publisher is this far behind, readers will
        # catch up from the views anyway, so dropping one is fine.
        try:
            send_notice.send_nowait([topic, notice])
        except trio.WouldBlock:
            log.warning("view notice dropped: publisher is behind")


async def _publish(pub: Any, notices: trio.MemoryReceiveChannel[list[bytes]]) -> None:
    async for frames in notices:
        pub.send_nowait(frames)


async def _control(
    projection: Projection,
    request: rpc.Request,
    *,
    send_notice: trio.MemorySendChannel[list[bytes]],
) -> dict[str, Any]:
    if request.op == "status":
        return {
            "pid": os.getpid(),
            "position": projection.position,
            "transactions": projection.transactions,
            "events_applied": projection.events_applied,
        }
    if request.op == "rebuild":
        applied = projection.rebuild()
        log.info("views rebuilt", events=applied)
        _ring(send_notice, projection.position, {REBUILT: {"rebuilt"}})
        return {"events": applied, "position": projection.position}
    raise UsageError(f"the projector does not know {request.op!r}")
