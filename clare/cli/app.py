"""The Typer application: the root options and the command groups."""

from __future__ import annotations

from typing import Annotated

import typer

from clare.cli import (
    cmd_agent,
    cmd_events,
    cmd_groups,
    cmd_hooks,
    cmd_instance,
    cmd_messages,
    cmd_ops,
    cmd_projects,
    cmd_sessions,
    cmd_sync,
    cmd_tasks,
    cmd_web,
)
from clare.cli.instance import Instance

app = typer.Typer(
    name="clare",
    help="A project manager for a fleet of Claude Code agents on several machines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            envvar="CLARE_HOME",
            help="Folder of the instance (config, data, sockets). Default: XDG paths.",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    ctx.obj = Instance(home)
    ctx.call_on_close(ctx.obj.close)


cmd_instance.register(app)
cmd_projects.register(app)
cmd_tasks.register(app)
cmd_events.register(app)
cmd_sync.register(app)
cmd_sessions.register(app)
cmd_agent.register(app)
cmd_messages.register(app)
cmd_groups.register(app)
cmd_hooks.register(app)
cmd_ops.register(app)
cmd_web.register(app)
