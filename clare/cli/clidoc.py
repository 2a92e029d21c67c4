"""The CLI reference, generated from the Typer app: ``python -m clare.cli.clidoc > docs/cli.md``.

Each command's section is its own ``--help`` text, rendered from the command
tree Typer builds, so the reference says exactly what the parser accepts, and
a test fails when docs/cli.md is older than the code. The width is fixed, so
the output depends on nothing but the app (not the terminal), and CI can
compare it byte for byte.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer
import typer.main

if TYPE_CHECKING:
    from collections.abc import Iterator

REGENERATE = "python -m clare.cli.clidoc > docs/cli.md"
WIDTH = 100

HEADER = f"""# CLI reference

Every `clare` command with its `--help`. Generated from the code by
`{REGENERATE}`: do not edit by hand.
"""


def _subcommands(command: Any, ctx: typer.Context) -> Iterator[tuple[str, Any]]:
    if not hasattr(command, "list_commands"):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            yield name, sub


def _walk(command: Any, ctx: typer.Context) -> Iterator[tuple[Any, typer.Context]]:
    yield command, ctx
    for name, sub in _subcommands(command, ctx):
        yield from _walk(sub, typer.Context(sub, info_name=name, parent=ctx))


def render(app: typer.Typer | None = None) -> str:
    """The whole reference as Markdown, one section per command, depth first."""
    if app is None:
        from clare.cli.app import app as clare_app

        app = clare_app
    root = typer.main.get_command(app)
    settings = {**root.context_settings, "terminal_width": WIDTH, "max_content_width": WIDTH}
    top = typer.Context(root, info_name="clare", **settings)
    sections = [HEADER]
    for command, ctx in _walk(root, top):
        help_text = command.get_help(ctx).rstrip()
        if not help_text:
            # Typer's rich mode prints help to the console instead of returning it.
            raise ValueError(f"no help text for {ctx.command_path}: is rich_markup_mode None?")
        sections.append(f"## `{ctx.command_path}`\n\n```text\n{help_text}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(render())
