"""Entry point of the ``clare`` command.

Every expected failure is a ``ClareError``: it is printed as one line on
stderr and the command exits 1. A traceback means a bug.
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "hook":
        # Claude Code runs this on every turn: skip Typer (and its imports) entirely.
        from clare.cli.hook import main as hook_main

        sys.exit(hook_main(sys.argv[2:]))
    from clare.errors import ClareError

    try:
        from clare.cli.app import app

        app()
    except ClareError as exc:
        print(f"clare: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
