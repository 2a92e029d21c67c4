"""Running one node as its own process: lock, logging, signals, then its ``serve_*``.

Nodes are named here and imported lazily, so starting the writer does not pay
for importing the web stack.
"""

from __future__ import annotations

import gc
import importlib
import signal
import sys
from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, ConfigError
from clare.runtime import config as config_mod
from clare.runtime import logs
from clare.runtime.lock import NodeLock
from clare.runtime.node_names import EX_CONFIG, NODES

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import trio

    from clare.runtime.paths import InstancePaths


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

    # Everything made so far (modules, classes, functions) lives as long as the node:
    # kept out of the collector's passes, which then walk only the node's own work.
    gc.collect()
    gc.freeze()

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
            if isinstance(expected, ConfigError):
                print(f"clare: {expected}", file=sys.stderr)
                raise SystemExit(EX_CONFIG) from None
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
