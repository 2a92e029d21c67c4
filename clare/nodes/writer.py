"""The writer node: the only process that writes the events DB.

One loop, which is the group commit: wait for a command, take every other one
already queued (up to a bound), decide and commit them in one transaction,
answer them, publish what was written (one message per commit, not per
event: see clare.bus.published). While SQLite fsyncs, ZeroMQ's I/O
thread keeps queueing new commands, so a busy writer makes bigger batches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import trio
import zmq

from clare.bus import envelope, published, rpc
from clare.bus.endpoints import SUB_HWM, WRITER_COMMANDS, WRITER_EVENTS, Endpoints
from clare.bus.zsock import open_socket
from clare.core.hlc import HybridClock
from clare.domain.entities import Host
from clare.domain.kinds import HOSTS
from clare.nodes.writer_core import WriterCore
from clare.runtime.logs import get
from clare.store.eventlog import open_events_db

if TYPE_CHECKING:
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

log = get("clare.writer")

MAX_BATCH = 2000
#: A batch also stops taking commands once it holds this many bytes: 2,000 frames
#: of up to 4 MiB each (sync batches) once made one batch of 4.4 GB in memory.
#: A group commit of 16 MiB is already far past where batching still saves fsyncs.
MAX_BATCH_BYTES = 16 * 1024 * 1024
# Messages (each a commit's events, see clare.bus.published) queued for one
# slow subscriber before ZeroMQ drops the rest. Every subscriber fills gaps from
# SQLite (the bus is a doorbell), so a small queue only bounds memory: 200,000
# queued events once cost a projector 300 MB.
PUB_HWM = SUB_HWM


async def serve_writer(
    paths: InstancePaths,
    config: Config,
    *,
    clock: HybridClock | None = None,
    task_status: trio.TaskStatus[WriterCore] = trio.TASK_STATUS_IGNORED,
) -> None:
    paths.ensure_data_dir()
    conn = open_events_db(paths.events_db)
    core = WriterCore(
        conn, config.machine_id, clock or HybridClock(max_offset_ms=config.max_clock_offset_ms)
    )
    endpoints = Endpoints(paths)
    paths.ensure_runtime_dir()
    try:
        async with (
            open_socket(
                zmq.ROUTER,
                bind=endpoints.ipc(WRITER_COMMANDS),
                options={zmq.MAXMSGSIZE: envelope.MAX_FRAME_BYTES, zmq.RCVHWM: 100_000},
            ) as router,
            open_socket(
                zmq.PUB, bind=endpoints.ipc(WRITER_EVENTS), options={zmq.SNDHWM: PUB_HWM}
            ) as pub,
        ):
            _announce_host(core, config)
            log.info("writer ready", seq=core.log.last_seq, events_db=str(paths.events_db))
            task_status.started(core)
            while True:
                first = await router.recv()
                batch = [_split(f) for f in take_batch(first, router)]
                outcome = core.handle_batch([m for m in batch if m is not None])
                for identity, reply in outcome.replies:
                    router.send_nowait([identity, reply])
                for message in published.messages(outcome.committed):
                    pub.send_nowait(message)
    finally:
        conn.close()


class Waiting(Protocol):
    def recv_nowait(self) -> list[bytes] | None: ...


def take_batch(
    first: list[bytes],
    sock: Waiting,
    max_count: int = MAX_BATCH,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[list[bytes]]:
    """``first`` and the messages already waiting on ``sock``, up to ``max_count`` of
    them and until they hold ``max_bytes`` (the last one taken may cross it)."""
    taken = [first]
    size = sum(len(frame) for frame in first)
    while len(taken) < max_count and size < max_bytes:
        frames = sock.recv_nowait()
        if frames is None:
            break
        taken.append(frames)
        size += sum(len(frame) for frame in frames)
    return taken


def _split(frames: list[Any]) -> tuple[bytes, bytes] | None:
    # A DEALER's request reaches the ROUTER as [routing id, payload]. Anything
    # else is answered nowhere: without a routing id there is no one to answer.
    if len(frames) != 2:
        log.warning("malformed command envelope dropped", frames=len(frames))
        return None
    return bytes(frames[0]), bytes(frames[1])


def _announce_host(core: WriterCore, config: Config) -> None:
    """Record this host's name and groups when they changed, so peers can show them."""
    current = core.cache.get(HOSTS.entity(config.machine_id))
    if (
        isinstance(current, Host)
        and current.name == config.name
        and current.groups == config.groups
    ):
        return
    request = rpc.Request.new("host.name", {"name": config.name, "groups": list(config.groups)})
    core.handle_batch([(b"", request.encode())])
