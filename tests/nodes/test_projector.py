"""The projector node against a stand-in for the writer's PUB socket.

The test owns the events DB (through a writer core) and publishes the rows it
wrote, so it decides exactly when each doorbell rings.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio
import zmq

from clare.bus import envelope, published
from clare.bus.endpoints import DISPATCH_TOPIC, VIEW_TOPIC, Endpoints
from clare.bus.zsock import TrioSocket, open_socket
from clare.nodes import projector
from clare.nodes.projector import serve_projector
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.store import eventlog
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from clare.nodes.writer_core import WriterCore
    from clare.runtime.paths import InstancePaths
    from clare.store.projection import Projection

MACHINE = "00000000-0000-4000-8000-0000000000ee"
CONFIG = Config(machine_id=MACHINE, name="proj-test")


@pytest.fixture
def paths() -> Iterator[InstancePaths]:
    home = Path(tempfile.mkdtemp(prefix="cj-", dir="/tmp"))  # short: socket paths
    try:
        found = resolve(home)
        found.ensure_runtime_dir()
        yield found
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def _ring(pub: TrioSocket, core: WriterCore, seq: int) -> None:
    (event,) = eventlog.read_after(core.conn, seq - 1, 1)
    await pub.send([published.event_topic(event.kind), published.encode_event(event)])


async def _until(projection: Projection, position: int, ring: object = None) -> None:
    with trio.fail_after(10):
        while projection.position < position:
            if callable(ring):
                await ring()
            await trio.sleep(0.02)


async def _first_event(pub: TrioSocket, core: WriterCore, projection: Projection) -> None:
    """Write one event and ring until the projector has it (its SUB may still be joining)."""
    call(core, "project.add", name="alpha")
    await _until(projection, 1, functools.partial(_ring, pub, core, 1))


@asynccontextmanager
async def _projector(
    paths: InstancePaths, gather_s: float, busy_s: float
) -> AsyncIterator[tuple[WriterCore, TrioSocket, Projection]]:
    """A projector node fed by the test's PUB, once it has applied a first event."""
    core = make_core(paths.events_db, MACHINE)
    async with (
        open_socket(zmq.PUB, bind=Endpoints(paths).writer_events) as pub,
        trio.open_nursery() as nursery,
    ):
        serve = functools.partial(serve_projector, gather_s=gather_s, busy_s=busy_s)
        projection: Projection = await nursery.start(serve, paths, CONFIG)
        await _first_event(pub, core, projection)
        yield core, pub, projection
        nursery.cancel_scope.cancel()


async def test_events_that_follow_closely_share_one_transaction(paths: InstancePaths) -> None:
    async with _projector(paths, gather_s=0.3, busy_s=60.0) as (core, pub, projection):
        before = projection.transactions
        call(core, "task.add", project="alpha", title="a")
        call(core, "task.add", project="alpha", title="b")
        await _ring(pub, core, 2)
        await trio.sleep(0.05)  # well after the first was received, within the gathering
        await _ring(pub, core, 3)
        await _until(projection, 3)
        assert projection.transactions == before + 1
        assert projection.events_applied == 3


async def test_a_lone_event_is_applied_without_gathering(paths: InstancePaths) -> None:
    async with _projector(paths, gather_s=30.0, busy_s=0.05) as (core, pub, projection):
        await trio.sleep(0.2)  # quiet for longer than busy_s
        call(core, "task.add", project="alpha", title="a")
        started = trio.current_time()
        await _ring(pub, core, 2)
        await _until(projection, 2)
        assert trio.current_time() - started < 5.0  # not the 30 s of gathering


def test_only_a_change_of_dispatch_requests_rings_the_dispatchers_doorbell() -> None:
    # The dispatcher subscribes to DISPATCH_TOPIC alone, so ordinary commits never
    # wake it; a rebuild may have changed anything, dispatch requests included.
    send, receive = trio.open_memory_channel[list[bytes]](10)
    projector._ring(send, 5, {"tasks": {"t-1"}, "sessions": {"s:1"}})
    projector._ring(send, 6, {"tasks": {"t-2"}, "dispatches": {"r:1"}})
    projector._ring(send, 7, {"all": {"rebuilt"}})
    topics = []
    while True:
        try:
            topic, notice = receive.receive_nowait()
        except trio.WouldBlock:
            break
        topics.append((topic, envelope.decode(notice)["position"]))
    assert topics == [(VIEW_TOPIC, 5), (VIEW_TOPIC, 6), (DISPATCH_TOPIC, 6), (VIEW_TOPIC, 7),
                      (DISPATCH_TOPIC, 7)]  # fmt: skip
    assert not VIEW_TOPIC.startswith(DISPATCH_TOPIC)
    assert not DISPATCH_TOPIC.startswith(VIEW_TOPIC)
