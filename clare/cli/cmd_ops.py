"""``clare systemd install|uninstall`` and ``clare doctor``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json
from clare.ops import checks as checks_mod
from clare.ops import systemd
from clare.runtime import node_names

systemd_app = typer.Typer(
    help="systemd user units: one per node, grouped by clare.target.", no_args_is_help=True
)

UnitDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--unit-dir",
        help="Folder of the units (default: ~/.config/systemd/user).",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(systemd_app, name="systemd")
    app.command("doctor")(doctor)


@systemd_app.command("install")
def install(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the units instead of writing them.")
    ] = False,
    unit_dir: UnitDirOpt = None,
    log_level: Annotated[
        str,
        typer.Option(help="CLARE_LOG_LEVEL of the nodes: debug, info, warning, error, critical."),
    ] = "info",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite unit files that Clare did not write.")
    ] = False,
) -> None:
    """Write a unit per node and clare.target; print the systemctl commands that start them.

    The units run this instance (its CLARE_HOME, if it has one) with the clare
    installed beside this Python. Run it again after an upgrade.
    """
    inst: Instance = ctx.obj
    home = ctx.find_root().params.get("home")
    env = systemd.environment(home, log_level)
    units = systemd.render_units(systemd.clare_command(), env)
    folder = unit_dir or systemd.default_unit_dir()
    if dry_run:
        for name, text in units.items():
            print(f"# ---- {folder / name}")
            print(text)
    else:
        for path in systemd.install(units, folder, force=force):
            print(f"wrote {path}", file=sys.stderr)
    nodes = node_names.START_ORDER
    planned = [n for n in systemd.UNIT_NODES if n not in nodes]
    if not inst.paths.config_file.exists():
        print(f"no instance at {inst.paths.home_hint} yet: run `clare init` first", file=sys.stderr)
    print("\nTo start Clare now and at every login, run:", file=sys.stderr)
    for command in systemd.enable_commands(nodes):
        print(f"  {command}", file=sys.stderr)
    if planned:
        print(
            f"(units for {', '.join(planned)} are installed for a later version; "
            "this one has no such node, so they are not enabled)",
            file=sys.stderr,
        )


@systemd_app.command("uninstall")
def uninstall(unit_dir: UnitDirOpt = None) -> None:
    """Remove the units `clare systemd install` wrote (stop them first: it prints how)."""
    folder = unit_dir or systemd.default_unit_dir()
    print("Stop and disable the units first, if they run:", file=sys.stderr)
    for command in systemd.disable_commands():
        print(f"  {command}", file=sys.stderr)
    removed, kept = systemd.uninstall(folder)
    for path in removed:
        print(f"removed {path}", file=sys.stderr)
    for path in kept:
        print(f"kept {path}: Clare did not write it", file=sys.stderr)
    if not removed and not kept:
        print(f"no Clare units in {folder}", file=sys.stderr)


def doctor(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check this instance: config, keys, databases, nodes, endpoints, hooks, peers.

    Each check is ok, a warning or a failure with its fix in one line. Exits 1
    when any check fails.
    """
    from clare.ops.doctor import run_checks

    inst: Instance = ctx.obj
    found = run_checks(inst.paths)
    if json_out:
        emit_json(checks_mod.report(found))
    else:
        print(checks_mod.render_text(found))
    if not checks_mod.healthy(found):
        raise typer.Exit(1)
