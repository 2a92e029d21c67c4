"""The whole Typer application: the root options and every command group.

The ``clare`` command builds only what a command line needs
(:func:`clare.cli.root.for_argv`); this module is the whole app, for the CLI
reference and the tests.
"""

from __future__ import annotations

from clare.cli.root import build

app = build()
