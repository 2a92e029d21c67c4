from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio
import zmq

from clare.bus import published
from clare.bus.zsock import open_socket
from clare.core.events import encode_body
from clare.nodes import gossip_bus as local_bus
from clare.store import eventlog
from clare.store.sqlite import transaction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.core.events import Event

MACHINE = "00000000-0000-4000-8000-0000000000aa"


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clb-", dir="/tmp"))  # short: socket paths
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _commit(log: eventlog.EventLog, count: int) -> list[Event]:
    with transaction(log.conn):
        return [
            log.append_local("TaskNoted", "t-0000000001", encode_body({"n": i}), i + 1)
            for i in range(count)
        ]


async def _follow(folder: Path, *, unhurried: bool, gap: bool) -> list[list[int]]:
    """Seqs handed to ``committed``, call by call, for 12 commits of 3 events."""
    log = eventlog.EventLog(eventlog.open_events_db(folder / "events.db"), MACHINE)
    reader = eventlog.open_events_reader(folder / "events.db")
    endpoint = f"ipc://{folder}/pub"
    calls: list[list[int]] = []

    async def committed(events: list[Event]) -> None:
        calls.append([e.seq for e in events])

    async with (
        open_socket(zmq.PUB, bind=endpoint) as pub,
        open_socket(zmq.SUB, connect=[endpoint], options={zmq.SUBSCRIBE: b"ev."}) as sub,
        trio.open_nursery() as nursery,
    ):
        await trio.sleep(0.2)  # the subscription reaches the publisher
        nursery.start_soon(
            lambda: local_bus.follow_writer(sub, reader, 0, committed, unhurried=lambda: unhurried)
        )
        for commit in range(12):
            events = _commit(log, 3)
            if not (gap and commit == 5):  # this one never reaches the bus
                for message in published.messages(events):
                    pub.send_nowait(message)
            await trio.sleep(0.005)
        with trio.fail_after(5):
            while not calls or calls[-1][-1] != 36:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    reader.close()
    log.conn.close()
    return calls


@pytest.mark.parametrize("gap", [False, True])
async def test_every_commit_arrives_once_in_order(folder: Path, gap: bool) -> None:
    calls = await _follow(folder, unhurried=False, gap=gap)
    assert [seq for call in calls for seq in call] == list(range(1, 37))
    assert len(calls) >= 6  # hurried: about one call per commit


@pytest.mark.parametrize("gap", [False, True])
async def test_unhurried_takes_commits_together_and_misses_none(folder: Path, gap: bool) -> None:
    calls = await _follow(folder, unhurried=True, gap=gap)
    assert [seq for call in calls for seq in call] == list(range(1, 37))
    # 12 commits 5 ms apart, taken 100 ms at a time: one or two wake-ups, not twelve.
    assert len(calls) <= 3
