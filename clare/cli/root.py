"""The root of the Typer application, and building it with only the commands a run needs.

Building the whole app imports every command module, and with them the
store, the domain, the session parsers, the node runner: that was more than
half of what ``clare task add`` cost before it did anything. A command line
names its command first, so :func:`for_argv` builds the app with just the
module defining that command, and cut down to that one command: Typer makes a
click command of every function it holds before it runs any (0.4 ms each).
The command then parses, runs and fails exactly as in the whole app: it is
the same Typer command under the same root.

Any command line this cannot read for certain (no command, an unknown name,
an option before it other than ``--home``, shell completion) gets the whole
app, so root help, "No such command" and completion come out as before.
"""

from __future__ import annotations

import copy
import importlib
import os
from typing import TYPE_CHECKING, Annotated

import typer

from clare.app.instance import Instance

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: Every command module, in the order the whole app registers them (root help lists
#: commands in this order).
MODULES = (
    "cmd_instance",
    "cmd_projects",
    "cmd_tasks",
    "cmd_exchange",
    "cmd_events",
    "cmd_sync",
    "cmd_sessions",
    "cmd_dispatch",
    "cmd_agent",
    "cmd_messages",
    "cmd_cost",
    "cmd_decisions",
    "cmd_groups",
    "cmd_hooks",
    "cmd_ops",
    "cmd_web",
)

#: Each top-level command or group, and the module whose ``register`` adds it
#: (a test checks this against what the modules register).
COMMAND_MODULES = {
    **dict.fromkeys(("init", "up", "node", "status", "rebuild", "verify"), "cmd_instance"),
    "project": "cmd_projects",
    **dict.fromkeys(("task", "note", "assign", "unassign"), "cmd_tasks"),
    **dict.fromkeys(("export", "import"), "cmd_exchange"),
    **dict.fromkeys(("log", "tap"), "cmd_events"),
    **dict.fromkeys(("sync", "keys"), "cmd_sync"),
    "session": "cmd_sessions",
    "dispatch": "cmd_dispatch",
    **dict.fromkeys(("pull", "done"), "cmd_agent"),
    **dict.fromkeys(("broadcast", "inbox"), "cmd_messages"),
    "cost": "cmd_cost",
    "decision": "cmd_decisions",
    "group": "cmd_groups",
    "hooks": "cmd_hooks",
    **dict.fromkeys(("doctor", "systemd"), "cmd_ops"),
    "serve": "cmd_web",
}

HOME_OPTION = "--home"


def root(
    ctx: typer.Context,
    home: Annotated[
        str | None,
        typer.Option(
            HOME_OPTION,
            envvar="CLARE_HOME",
            help="Folder of the instance (config, data, sockets). Default: XDG paths.",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    ctx.obj = Instance(home)
    ctx.call_on_close(ctx.obj.close)


def build(modules: Iterable[str] = MODULES) -> typer.Typer:
    """The app with the root options and the commands of ``modules`` (all by default)."""
    app = typer.Typer(
        name="clare",
        help="A project manager for a fleet of Claude Code agents on several machines.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    for name in modules:
        importlib.import_module(f"clare.cli.{name}").register(app)
    return app


def _command_at(argv: Sequence[str]) -> int | None:
    """Where the command a command line (without the program) names is, or None if unsure.

    Only ``--home VALUE`` and ``--home=VALUE`` may come before it, the root's one
    option taking a value: anything else starting with "-" means None.
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == HOME_OPTION:
            i += 2
        elif arg.startswith(HOME_OPTION + "="):
            i += 1
        elif arg.startswith("-"):
            return None
        else:
            return i
    return None


def command_name(argv: Sequence[str]) -> str | None:
    """The command a command line (without the program) names, or None if unsure."""
    at = _command_at(argv)
    return None if at is None else argv[at]


def _only(app: typer.Typer, argv: Sequence[str]) -> typer.Typer:
    """A copy of ``app`` holding only the command ``argv`` starts with, and so on down.

    A level is kept whole when unsure: ``argv`` starts with an option or names
    nothing there, or a command there has no explicit name (Typer would make one
    up, and a guess here could differ).
    """
    if not argv or argv[0].startswith("-"):
        return app
    names = [c.name for c in app.registered_commands] + [g.name for g in app.registered_groups]
    if not all(isinstance(name, str) for name in names):
        return app
    commands = [c for c in app.registered_commands if c.name == argv[0]]
    groups = [copy.copy(g) for g in app.registered_groups if g.name == argv[0]]
    if len(commands) + len(groups) != 1:
        return app
    for group in groups:
        if group.typer_instance is None:
            return app
        group.typer_instance = _only(group.typer_instance, argv[1:])
    pruned = copy.copy(app)
    pruned.registered_commands, pruned.registered_groups = commands, groups
    return pruned


def _completing() -> bool:
    # Shell completion runs the program with _<PROG>_COMPLETE set; it walks the
    # whole command tree.
    return any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ)


def for_argv(argv: Sequence[str]) -> typer.Typer:
    """The app to run ``argv`` with: only its command, when that is certain."""
    at = _command_at(argv)
    module = None if at is None else COMMAND_MODULES.get(argv[at])
    if at is None or module is None or _completing():
        return build()
    return _only(build([module]), argv[at:])
