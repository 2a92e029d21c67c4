"""The supervisor keeps its nodes running whatever happens to its own state file."""

from __future__ import annotations

import errno
import functools
import json
import sys
from typing import TYPE_CHECKING

import pytest
import trio

from clare.nodes import supervisor
from clare.runtime.node_names import EX_CONFIG
from clare.runtime.paths import resolve
from clare.runtime.upstate import UpState, state_file

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from clare.runtime.paths import InstancePaths


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


def test_backoff_doubles_on_quick_deaths_and_resets_after_a_real_run() -> None:
    """Reset only after a minute up left the writer down 30 s at a time after a few
    quick crashes, even once it had run for most of a minute."""
    backoff = supervisor.Backoff(start_s=0.5, max_s=10.0, stable_after_s=10.0)
    waits = [backoff.after_exit(lived_s=0.1) for _ in range(7)]
    assert waits == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.after_exit(lived_s=45.0) == 0.5
    assert backoff.after_exit(lived_s=0.1) == 1.0


def test_defaults_bound_the_wait_for_a_node_that_ran_for_a_while() -> None:
    backoff = supervisor.Backoff()
    for _ in range(10):
        backoff.after_exit(lived_s=0.0)
    assert backoff.after_exit(lived_s=0.0) <= 10.0
    assert backoff.after_exit(lived_s=30.0) == supervisor.BACKOFF_START_S


def _by_name(codes: dict[str, str]) -> Callable[[InstancePaths, str], list[str]]:
    def command(paths: InstancePaths, name: str) -> list[str]:
        return [sys.executable, "-c", codes[name]]

    return command


async def test_a_node_that_dies_before_it_is_ready_does_not_hold_the_others_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A projector crash-looping on a poisoned event kept `clare up` waiting on it,
    so gossip and web never started."""
    paths = resolve(tmp_path)
    paths.ensure_runtime_dir()
    monkeypatch.setattr(supervisor, "READY_TIMEOUT_S", 3600.0)  # only an exit ends the wait
    monkeypatch.setattr(supervisor, "BACKOFF_START_S", 0.01)
    command = _by_name({"projector": "raise SystemExit(1)", "web": "import time; time.sleep(600)"})
    async with trio.open_nursery() as nursery:
        with trio.fail_after(60):  # a hang guard: the bug waited for ever
            state = await nursery.start(
                functools.partial(
                    supervisor.supervise, command=command, ready=lambda name: name == "web"
                ),
                paths,
                ["projector", "web"],
            )
        assert state.nodes["web"].pid != 0
        assert state.nodes["projector"].last_exit == 1
        nursery.cancel_scope.cancel()


async def test_a_node_with_a_configuration_error_is_left_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 78 (EX_CONFIG): restarting cannot help; the other nodes go on."""
    paths = resolve(tmp_path)
    paths.ensure_runtime_dir()
    monkeypatch.setattr(supervisor, "BACKOFF_START_S", 0.01)
    command = _by_name(
        {"web": f"raise SystemExit({EX_CONFIG})", "writer": "import time; time.sleep(600)"}
    )
    async with trio.open_nursery() as nursery:
        state = await nursery.start(
            functools.partial(supervisor.supervise, command=command), paths, ["web", "writer"]
        )
        with trio.fail_after(60):
            while not state.nodes["web"].given_up:
                await trio.sleep(0.01)
        web, writer = state.nodes["web"], state.nodes["writer"]
        assert (web.last_exit, web.restarts, web.pid) == (EX_CONFIG, 0, 0)
        assert web.given_up == "configuration error"
        assert writer.pid != 0
        assert writer.last_exit is None
        recorded = json.loads(state_file(paths).read_text())
        assert recorded["nodes"]["web"]["given_up"] == "configuration error"
        nursery.cancel_scope.cancel()
