"""Entry point of the ``clare`` command.

Every expected failure is a ``ClareError``: it is printed as one line on
stderr and the command exits 1. A traceback means a bug.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from typing import NoReturn


def main() -> None:
    # Start-up makes modules, classes and functions, which live as long as the
    # process: the garbage collector's passes over them during the imports find
    # nothing to free and cost about 3 ms of a `clare task add`.
    gc.disable()
    if len(sys.argv) > 1 and sys.argv[1] == "hook":
        # Claude Code runs this on every turn: skip Typer (and its imports) entirely.
        # The hook does little after its imports and ends in a few ms: the collector
        # stays off.
        from clare.cli.hook import main as hook_main

        exit_now(hook_main(sys.argv[2:]))
    from clare.core.errors import ClareError

    node = node_argv(sys.argv[1:])
    if node is not None:
        # What `clare up` and the systemd units run, for days: skip Typer, so each
        # node's memory holds what the node uses, not the whole command line.
        from clare.nodes.run import run_node
        from clare.runtime.paths import resolve

        gc.enable()
        try:
            run_node(node[1], resolve(node[0]))
        except ClareError as exc:
            print(f"clare: {exc}", file=sys.stderr)
            sys.exit(1)
        return

    try:
        from clare.cli.root import for_argv

        app = for_argv(sys.argv[1:])
        gc.enable()  # the command may run for days (`clare up`)
        app()
    except ClareError as exc:
        print(f"clare: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    finally:
        # The interpreter's last garbage collection walks every object Typer, click
        # and the command made: about 15 ms of CPU per `clare task add`, to free
        # memory the exit frees anyway. Frozen objects are left out of it. Everything else
        # of a normal exit still happens (exit handlers, threads joined, stdio
        # flushed, modules torn down); only the finalizers of objects kept alive by
        # reference cycles alone do not run, which Python never promises at exit.
        gc.freeze()


def node_argv(argv: list[str]) -> tuple[str | None, str] | None:
    """``(home, name)`` for exactly ``[--home H] node NAME`` naming a known node, else None.

    Anything else (help, an unknown name, another option) goes through Typer,
    which explains itself.
    """
    home: str | None = None
    if len(argv) == 4 and argv[0] == "--home":
        home, argv = argv[1], argv[2:]
    elif len(argv) == 3 and argv[0].startswith("--home="):
        home, argv = argv[0].removeprefix("--home="), argv[1:]
    if len(argv) != 2 or argv[0] != "node":
        return None
    from clare.runtime.node_names import NODES

    return (home, argv[1]) if argv[1] in NODES else None


def exit_now(code: int) -> NoReturn:
    """End the process at once with ``code``, skipping the interpreter's teardown.

    Tearing down every imported module and running the final garbage
    collection cost the hook about 7 ms of CPU per run, for nothing: the
    process is about to vanish. This relies on the caller having nothing left
    to clean up: its files, sockets and databases are closed, it started no
    thread and registered no exit handler that matters. Only the stdio buffers
    remain, flushed here. A stream that cannot be flushed (Claude Code closed
    the pipe) does not change the status: the hook exits 0 whatever happens.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the descriptor closed
            continue
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, or a closed stream
            stream.flush()
    os._exit(code)
