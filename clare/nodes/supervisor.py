"""``clare up``: each node in its own OS process, restarted when it dies.

A node that exits is started again after a backoff that doubles on each quick
death (0.5 s up to 30 s) and resets once the node has stayed up a minute, so a
node that crashes at start does not spin the CPU. On SIGINT or SIGTERM every
node gets SIGTERM, then SIGKILL if it has not stopped within a few seconds.

The supervisor writes ``run/up.json`` (its pid and each node's pid and
restarts) for ``clare status`` and ``clare doctor``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING

import trio

from clare.logs import get
from clare.nodes.upstate import NodeStatus, UpState, state_file

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from clare.paths import InstancePaths

log = get("clare.supervisor")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_AFTER_S = 60.0
STOP_GRACE_S = 5.0


def node_command(paths: InstancePaths, name: str) -> list[str]:
    # The child opens the very same instance: the same home, or (without one)
    # the same XDG layout through the environment it inherits.
    return [sys.executable, "-m", "clare", *paths.cli_args(), "node", name]


async def supervise(
    paths: InstancePaths,
    names: Sequence[str],
    *,
    command: Callable[[InstancePaths, str], list[str]] = node_command,
    ready: Callable[[str], bool] | None = None,
    task_status: trio.TaskStatus[UpState] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the named nodes until cancelled. ``ready(name)`` says when a node is up."""
    state = UpState(pid=os.getpid(), started_at=time.time())
    path = state_file(paths)
    try:
        async with trio.open_nursery() as nursery:
            for name in names:
                state.nodes[name] = NodeStatus(name)
                await nursery.start(_keep_running, paths, name, command, state, path)
                if ready is not None:
                    await _wait_ready(name, ready)
            task_status.started(state)
    finally:
        path.unlink(missing_ok=True)


async def _wait_ready(name: str, ready: Callable[[str], bool], timeout_s: float = 15.0) -> None:
    with trio.move_on_after(timeout_s) as scope:
        # Readiness is a probe of another process: there is nothing to wait on.
        while not await trio.to_thread.run_sync(ready, name):  # noqa: ASYNC110
            await trio.sleep(0.05)
    if scope.cancelled_caught:
        log.warning("node not ready in time; going on", child=name, timeout_s=timeout_s)


async def _keep_running(
    paths: InstancePaths,
    name: str,
    command: Callable[[InstancePaths, str], list[str]],
    state: UpState,
    path: Path,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    backoff = BACKOFF_START_S
    status = state.nodes[name]
    first = True
    while True:
        proc = await trio.lowlevel.open_process(command(paths, name))
        status.pid = proc.pid
        status.started_at = time.time()
        _record(state, path)
        log.info("node started", child=name, pid=proc.pid, restarts=status.restarts)
        if first:
            task_status.started()
            first = False
        try:
            code = await proc.wait()
        finally:
            with trio.CancelScope(shield=True):
                await _stop(proc, name)
        status.last_exit = code
        status.pid = 0
        _record(state, path)
        lived = time.time() - status.started_at
        if lived >= STABLE_AFTER_S:
            backoff = BACKOFF_START_S
        log.error(
            "node exited; restarting",
            child=name,
            code=code,
            lived_s=round(lived, 2),
            backoff_s=backoff,
        )
        await trio.sleep(backoff)
        backoff = min(backoff * 2, BACKOFF_MAX_S)
        status.restarts += 1


def _record(state: UpState, path: Path) -> None:
    """Write ``run/up.json``. A full or read-only disk must not stop the nodes it
    describes: ``clare status`` shows the last state written until a write works."""
    try:
        state.write(path)
    except OSError as exc:
        log.warning("node states not recorded", path=str(path), error=str(exc))


async def _stop(proc: trio.Process, name: str) -> None:
    if proc.returncode is not None:
        return
    proc.send_signal(signal.SIGTERM)
    with trio.move_on_after(STOP_GRACE_S):
        await proc.wait()
        return
    log.warning("node ignored SIGTERM; killing it", child=name, pid=proc.pid)
    proc.kill()
    await proc.wait()
