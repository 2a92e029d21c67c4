"""Running one node as its own process: lock, logging, signals, then its ``serve_*``.

Nodes are named here and imported lazily, so starting the writer does not pay
for importing the web stack.
"""

from __future__ import annotations

import importlib
import signal
from typing import TYPE_CHECKING, Any

from clare import config as config_mod
from clare import logs
from clare.errors import ClareError
from clare.nodes.lock import NodeLock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import trio

    from clare.paths import InstancePaths

#: node name -> "module:function" of its serve_* coroutine.
NODES: dict[str, str] = {
    "writer": "clare.nodes.writer:serve_writer",
    "projector": "clare.nodes.projector:serve_projector",
    "gossip": "clare.nodes.gossip:serve_gossip",
    "poller": "clare.nodes.poller:serve_poller",
    "web": "clare.nodes.web:serve_web",
}

#: Exit status of a node stopped by its configuration (sysexits.h EX_CONFIG): restarting
#: it cannot help, so a supervisor leaves it stopped until the person fixes the config.
EX_CONFIG = 78

#: The order `clare up` starts them in (the writer first: the others talk to it).
START_ORDER = ("writer", "projector", "poller", "gossip", "web")


def available_nodes() -> list[str]:
    return [name for name in START_ORDER if name in NODES]


def load_serve(name: str) -> Callable[..., Awaitable[Any]]:
    module_name, _, function = NODES[name].partition(":")
    serve: Callable[..., Awaitable[Any]] = getattr(importlib.import_module(module_name), function)
    return serve


def run_node(name: str, paths: InstancePaths) -> None:
    """Run node ``name`` until SIGTERM or SIGINT. Raises ClareError on a bad start."""
    logs.setup(name)
    log = logs.get(f"clare.{name}")
    config = config_mod.load(paths)
    serve = load_serve(name)
    paths.ensure_runtime_dir()
    import trio  # here, not at the top: the CLI imports this module and must start fast

    with NodeLock(paths.lock_file(name)) as lock:
        lock.acquire(f"the {name} node")

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_stop_on_signal, nursery.cancel_scope, log)
                await serve(paths, config)

        try:
            trio.run(main)
        except BaseExceptionGroup as group:
            # An expected failure (a port in use, a broken config) inside the
            # node's nursery: report it in one line, not as a traceback.
            expected = _only_clare_errors(group)
            if expected is None:
                raise
            log.error("node failed", error=str(expected), code=expected.code)
            raise expected from None
        log.info("stopped")


def _only_clare_errors(group: BaseExceptionGroup[BaseException]) -> ClareError | None:
    """The first ClareError if every leaf of the group is one, else None."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        current = stack.pop()
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        else:
            leaves.append(current)
    if leaves and all(isinstance(leaf, ClareError) for leaf in leaves):
        first = leaves[-1]
        assert isinstance(first, ClareError)
        return first
    return None


async def _stop_on_signal(scope: trio.CancelScope, log: logs.Log) -> None:
    import trio

    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.info("stopping", signal=signal.Signals(signum).name)
            scope.cancel()
            return
