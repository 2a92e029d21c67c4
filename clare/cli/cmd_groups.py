"""``clare group add|remove|list``: named sets of sessions and hosts, for targeting."""

from __future__ import annotations

from typing import Annotated

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, table
from clare.domain.commands import GroupAdd, GroupRemove
from clare.store import queries_messages, queries_sessions

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
Members = Annotated[
    list[str] | None,
    typer.Argument(help="Members as session:ID (a prefix is enough) or host:NAME."),
]

group_app = typer.Typer(help="Groups of sessions and hosts.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(group_app, name="group")


def _members(inst: Instance, refs: list[str]) -> list[str]:
    out = []
    for ref in refs:
        kind, _, name = ref.partition(":")
        if kind == "session" and name:
            ref = f"session:{queries_sessions.resolve_session(inst.views(), name)}"
        out.append(ref)
    return out


@group_app.command("add")
def add(ctx: typer.Context, name: str, members: Members = None, json_out: JsonOpt = False) -> None:
    """Create a group, or add members to it."""
    inst: Instance = ctx.obj
    result = inst.submit(GroupAdd(name=name, members=tuple(_members(inst, members or []))))
    if json_out:
        emit_json(result)
    else:
        print(f"group {name}: {', '.join(result['members']) or 'no members'}")


@group_app.command("remove")
def remove(
    ctx: typer.Context, name: str, members: Members = None, json_out: JsonOpt = False
) -> None:
    """Remove members from a group, or the whole group when none is named."""
    inst: Instance = ctx.obj
    result = inst.submit(GroupRemove(name=name, members=tuple(_members(inst, members or []))))
    if json_out:
        emit_json(result)
    elif result.get("removed"):
        print(f"group {name} removed")
    else:
        print(f"group {name}: {', '.join(result['members']) or 'no members'}")


@group_app.command("list")
def list_(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List groups and their members."""
    inst: Instance = ctx.obj
    groups = queries_messages.list_groups(inst.views())
    if json_out:
        emit_json(groups)
    elif not groups:
        print("no groups")
    else:
        table([[g["name"], g["members"]] for g in groups], ["group", "members"])
