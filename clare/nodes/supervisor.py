"""``clare up``: each node in its own OS process, restarted when it dies.

A node that exits is started again after a backoff that doubles on each quick
death (0.5 s up to 10 s) and resets once the node has stayed up 10 s, so a node
that crashes at start does not spin the CPU, and one that ran for a while is
back at once (with a reset only after a minute, a few quick crashes left the
writer down 30 s at a time). A node that exits with ``EX_CONFIG`` (78) has a
configuration error that a restart cannot fix: it is left stopped, with one
line in the log, and the other nodes go on. On SIGINT or SIGTERM every node
gets SIGTERM, then SIGKILL if it has not stopped within a few seconds.

Nodes start in order, each once the one before is ready, since each talks to
those before it; but a node that dies before it is ready does not hold the
others back (a projector crash-looping on one event once kept gossip and web
from ever starting).

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

from clare.runtime.logs import get
from clare.runtime.node_names import EX_CONFIG
from clare.runtime.upstate import NodeStatus, UpState, state_file

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from clare.runtime.paths import InstancePaths

log = get("clare.supervisor")

BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
STABLE_AFTER_S = 10.0
STOP_GRACE_S = 5.0
READY_TIMEOUT_S = 15.0


class Backoff:
    """How long to wait before starting a node again, given how long it lived. Pure."""

    def __init__(
        self,
        start_s: float = BACKOFF_START_S,
        max_s: float = BACKOFF_MAX_S,
        stable_after_s: float = STABLE_AFTER_S,
    ) -> None:
        self.start_s = start_s
        self.max_s = max_s
        self.stable_after_s = stable_after_s
        self._next_s = start_s

    def after_exit(self, lived_s: float) -> float:
        """The wait before the next start, after a run that lasted ``lived_s``."""
        if lived_s >= self.stable_after_s:
            self._next_s = self.start_s
        wait = self._next_s
        self._next_s = min(wait * 2, self.max_s)
        return wait


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
                status = state.nodes[name] = NodeStatus(name)
                await nursery.start(_keep_running, paths, name, command, state, path)
                if ready is not None:
                    await _wait_ready(status, ready)
            task_status.started(state)
    finally:
        path.unlink(missing_ok=True)


async def _wait_ready(status: NodeStatus, ready: Callable[[str], bool]) -> None:
    """Wait until the node is ready, or has exited, or ``READY_TIMEOUT_S`` passed."""
    name = status.name
    with trio.move_on_after(READY_TIMEOUT_S) as scope:
        # Readiness is a probe of another process: there is nothing to wait on.
        while not await trio.to_thread.run_sync(ready, name):
            if status.last_exit is not None:
                log.warning("node exited before it was ready; starting the others", child=name)
                return
            await trio.sleep(0.05)
    if scope.cancelled_caught:
        log.warning("node not ready in time; going on", child=name, timeout_s=READY_TIMEOUT_S)


async def _keep_running(
    paths: InstancePaths,
    name: str,
    command: Callable[[InstancePaths, str], list[str]],
    state: UpState,
    path: Path,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    backoff = Backoff(BACKOFF_START_S, BACKOFF_MAX_S, STABLE_AFTER_S)
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
        lived = time.time() - status.started_at
        if code == EX_CONFIG:
            status.given_up = "configuration error"
            _record(state, path)
            log.error(
                f"node {name} stopped: its configuration is wrong (its log says why); "
                "not restarting it, the other nodes go on",
                child=name,
                code=code,
            )
            return
        _record(state, path)
        wait_s = backoff.after_exit(lived)
        log.error(
            "node exited; restarting",
            child=name,
            code=code,
            lived_s=round(lived, 2),
            backoff_s=wait_s,
        )
        await trio.sleep(wait_s)
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
