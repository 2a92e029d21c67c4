"""The supervisor keeps its nodes running whatever happens to its own state file."""

from __future__ import annotations

import errno
import sys
from typing import TYPE_CHECKING

import pytest
import trio

from clare.nodes import supervisor
from clare.nodes.upstate import UpState
from clare.paths import resolve

if TYPE_CHECKING:
    from pathlib import Path

    from clare.paths import InstancePaths


def _exits_at_once(paths: InstancePaths, name: str) -> list[str]:
    return [sys.executable, "-c", "raise SystemExit(3)"]


async def test_a_state_file_it_cannot_write_stops_no_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a full disk `run/up.json` cannot be written; that once raised out of the
    supervisor's nursery and stopped every node."""
    paths = resolve(tmp_path)
    paths.ensure_runtime_dir()

    def full_disk(self: UpState, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(UpState, "write", full_disk)
    monkeypatch.setattr(supervisor, "BACKOFF_START_S", 0.01)
    async with trio.open_nursery() as nursery:
        state = await nursery.start(
            lambda task_status: supervisor.supervise(
                paths, ["writer"], command=_exits_at_once, task_status=task_status
            )
        )
        with trio.fail_after(20):
            while state.nodes["writer"].restarts < 2:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
    assert state.nodes["writer"].last_exit == 3


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    state = UpState(pid=1, started_at=0.0)
    target = tmp_path / "up.json"
    target.mkdir()  # the temp file is written, and cannot replace a directory
    with pytest.raises(IsADirectoryError):
        state.write(target)
    assert list(tmp_path.iterdir()) == [target]
