"""The poller node against a real writer and projector, with a scripted session source."""

from __future__ import annotations

import functools
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import Endpoints
from clare.nodes.poller import Poller, serve_poller, state_file
from clare.nodes.projector import serve_projector
from clare.nodes.writer import serve_writer
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.sessions import spool
from clare.sessions.source import Observation, ScanResult
from clare.store import eventlog

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.nodes.writer_core import WriterCore
    from clare.runtime.paths import InstancePaths

MACHINE = "00000000-0000-4000-8000-0000000000dd"
CONFIG = Config(machine_id=MACHINE, name="poll-test")
OBS = Observation(session="s1", source="fake", pid=4, cwd="/src/a", status="busy")


@dataclass
class FakeSource:
    name: str = "fake"
    observations: list[Observation] = field(default_factory=list)
    scans: int = 0
    saved: dict[str, Any] = field(default_factory=dict)

    def scan(self, now_ms: int) -> ScanResult:
        self.scans += 1
        return ScanResult(observations=list(self.observations))

    def state(self) -> dict[str, Any]:
        return {"scans": self.scans}

    def restore(self, state: dict[str, Any]) -> None:
        self.saved = state


@pytest.fixture
def paths() -> Iterator[InstancePaths]:
    home = Path(tempfile.mkdtemp(prefix="cp-", dir="/tmp"))  # short: socket paths
    try:
        yield resolve(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def session_events(core: WriterCore) -> list[str]:
    return [e.kind for e in eventlog.read_after(core.conn, 0, 1000) if e.kind == "SessionObserved"]


async def test_a_pass_records_changes_only_and_notices_the_end(paths: InstancePaths) -> None:
    source = FakeSource(observations=[OBS])
    async with trio.open_nursery() as nursery:
        core = await nursery.start(serve_writer, paths, CONFIG)
        client = AsyncCommandClient(Endpoints(paths).writer_commands)
        poller = Poller(paths, CONFIG, client, [source])
        assert await poller.run_pass() == 1
        assert await poller.run_pass() == 0  # nothing new, nothing written
        source.observations = [replace(OBS, status="idle")]
        assert await poller.run_pass() == 1
        source.observations = []
        assert await poller.run_pass() == 1
        assert session_events(core) == ["SessionObserved"] * 3
        snap = core.cache.session("s1")
        assert snap is not None
        assert snap.snapshot.status == "ended"
        client.close()
        nursery.cancel_scope.cancel()


async def test_state_is_kept_across_restarts(paths: InstancePaths) -> None:
    source = FakeSource(observations=[OBS])
    async with trio.open_nursery() as nursery:
        core = await nursery.start(serve_writer, paths, CONFIG)
        client = AsyncCommandClient(Endpoints(paths).writer_commands)
        await Poller(paths, CONFIG, client, [source]).run_pass()
        assert state_file(paths).exists()
        again_source = FakeSource(observations=[OBS])
        again = Poller(paths, CONFIG, client, [again_source])
        assert again_source.saved == {"scans": 1}
        assert await again.run_pass() == 0  # it remembers what it recorded
        assert session_events(core) == ["SessionObserved"]
        client.close()
        nursery.cancel_scope.cancel()


async def test_the_spool_is_replayed_and_a_down_writer_is_waited_for(paths: InstancePaths) -> None:
    args = {"session": "s9", "event": "SessionStart", "at": 1_800_000_000_000}
    spool.append(paths.spool_dir, "spooled-1", "session.hook", args)
    client = AsyncCommandClient(Endpoints(paths).writer_commands, timeout_s=0.2, attempts=1)
    source = FakeSource(observations=[OBS])
    poller = Poller(paths, CONFIG, client, [source])
    assert await poller.run_pass() == 0  # the writer is not running: nothing lost
    assert spool.pending(paths.spool_dir)
    async with trio.open_nursery() as nursery:
        core = await nursery.start(serve_writer, paths, CONFIG)
        assert await poller.run_pass() == 1
        assert not spool.pending(paths.spool_dir)
        assert core.cache.session("s9") is not None
        client.close()
        nursery.cancel_scope.cancel()


async def test_calls_spooled_in_the_runtime_folder_are_replayed_too(
    paths: InstancePaths,
) -> None:
    args = {"session": "s8", "event": "SessionStart", "at": 1_800_000_000_000}
    spool.append(paths.fallback_spool_dir, "spooled-2", "session.hook", args)
    client = AsyncCommandClient(Endpoints(paths).writer_commands, timeout_s=0.5, attempts=1)
    poller = Poller(paths, CONFIG, client, [FakeSource(observations=[])])
    async with trio.open_nursery() as nursery:
        core = await nursery.start(serve_writer, paths, CONFIG)
        await poller.run_pass()
        assert not spool.pending(paths.fallback_spool_dir)
        assert core.cache.session("s8") is not None
        client.close()
        nursery.cancel_scope.cancel()


async def test_serve_poller_keeps_polling(paths: InstancePaths) -> None:
    source = FakeSource(observations=[OBS])
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_writer, paths, CONFIG)
        await nursery.start(serve_projector, paths, CONFIG)
        poller = await nursery.start(
            functools.partial(serve_poller, paths, CONFIG, interval_s=0.05, sources=[source])
        )
        with trio.fail_after(10):
            while source.scans < 3:
                await trio.sleep(0.05)
        assert poller.core.reported["s1"].status == "busy"
        nursery.cancel_scope.cancel()


async def test_the_asks_of_a_session_that_ended_are_settled(paths: InstancePaths) -> None:
    source = FakeSource(observations=[OBS])
    async with trio.open_nursery() as nursery:
        core = await nursery.start(serve_writer, paths, CONFIG)
        await nursery.start(serve_projector, paths, CONFIG)
        client = AsyncCommandClient(Endpoints(paths).writer_commands)
        poller = Poller(paths, CONFIG, client, [source])
        await poller.run_pass()
        asked = await client.call(
            "decision.ask",
            {"session": "s1", "tool": "Bash", "summary": "ls", "at": int(time.time() * 1000)},
        )
        entity = "d:" + asked["decision"]
        await poller.run_pass()
        assert core.cache.get(entity).pending  # the session still runs: its hook may wait
        source.observations = []  # it ended, and no hook said so
        with trio.fail_after(10):
            while core.cache.get(entity).pending:
                await poller.run_pass()
                await trio.sleep(0.05)  # the views catch up on the end, then the sweep sees it
        assert core.cache.get(entity).state == "session ended"
        client.close()
        nursery.cancel_scope.cancel()
