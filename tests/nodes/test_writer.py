from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import Endpoints
from clare.config import Config
from clare.nodes import writer
from clare.paths import resolve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.paths import InstancePaths

CONFIG = Config(machine_id="00000000-0000-4000-8000-0000000000ee", name="writer-test")


@pytest.fixture
def paths() -> Iterator[InstancePaths]:
    home = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))  # short: socket paths
    try:
        yield resolve(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


async def test_the_wal_is_checkpointed_beside_the_commits(paths: InstancePaths) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.serve_writer, paths, CONFIG)
        client = AsyncCommandClient(Endpoints(paths).writer_commands)
        await client.call("project.add", {"name": "p", "description": "x" * 2000})
        size_before = paths.events_db.stat().st_size
        for i in range(300):  # a few hundred commits: more WAL pages than the file holds
            await client.call("task.add", {"project": "p", "title": f"{i:03d}" * 90})
        with trio.fail_after(10):
            while paths.events_db.stat().st_size <= size_before:
                await trio.sleep(writer.CHECKPOINT_S / 2)
        client.close()
        nursery.cancel_scope.cancel()
