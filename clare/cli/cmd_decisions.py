"""``clare decision list|show|allow|deny``: answer any session's permission prompt."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, short_time, table
from clare.store import queries_decisions

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
IdArg = Annotated[str, typer.Argument(help="The decision's id, or a unique start of it.")]

decision_app = typer.Typer(
    help="Permission prompts of sessions on every host, answered from here.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(decision_app, name="decision")


def _one_line(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "\u2026"


@decision_app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Answered and settled ones too.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List pending decisions across the fleet, oldest first."""
    inst: Instance = ctx.obj
    found = queries_decisions.list_decisions(inst.views(), include_settled=all_)
    if json_out:
        emit_json(found)
        return
    if not found:
        print("nothing waits for a decision" + ("" if all_ else " (--all shows answered ones)"))
        return
    table(
        [
            (
                d["id"], d["session"][:8], d["host"], d["project"] or "-", d["tool"],
                short_time(d["asked_at"]), d["state"], _one_line(d["summary"]),
            )
            for d in found
        ],
        ["id", "session", "host", "project", "tool", "asked", "state", "summary"],
    )  # fmt: skip


def _print_answer(label: str, a: dict[str, Any]) -> None:
    who = a["author"] or a["host"]
    reason = f": {a['reason']}" if a["reason"] else ""
    print(f"{label}{a['state']} by {who} on {a['host']} ({a['via']}) {short_time(a['at'])}{reason}")


@decision_app.command("show")
def show(ctx: typer.Context, decision: IdArg, json_out: JsonOpt = False) -> None:
    """Show one decision: what is asked, where, and who answered."""
    inst: Instance = ctx.obj
    views = inst.views()
    found = queries_decisions.get_decision(
        views, queries_decisions.resolve_decision(views, decision)
    )
    if json_out:
        emit_json(found)
        return
    print(f"{found['id']}  {found['state']}")
    print(f"  session {found['session']} on {found['host']}, project {found['project'] or '-'}")
    print(f"  asked {short_time(found['asked_at'])} in {found['cwd'] or '-'}")
    print(f"  {found['tool']}: {found['summary']}")
    for suggestion in found["suggestions"]:
        print(f"  suggests: {suggestion}")
    if found["answer"]:
        _print_answer("  ", found["answer"])
    for conflict in found["conflicts"]:
        _print_answer("  conflict, not used: ", conflict)


def _answer(ctx: typer.Context, decision: str, behavior: str, reason: str, json_out: bool) -> None:
    from clare.app.decisions import answer

    inst: Instance = ctx.obj
    result = answer(inst, decision, behavior, reason=reason)
    if json_out:
        emit_json(result)
        return
    verb = "allowed" if behavior == "allow" else "denied"
    print(f"{result['decision']} {verb}; the session's host passes it on if its hook still waits")


@decision_app.command("allow")
def allow(ctx: typer.Context, decision: IdArg, json_out: JsonOpt = False) -> None:
    """Allow what a session asks (this once)."""
    _answer(ctx, decision, "allow", "", json_out)


@decision_app.command("deny")
def deny(
    ctx: typer.Context,
    decision: IdArg,
    reason: Annotated[
        str, typer.Option("--reason", help="Why; the model is told, so say what to do instead.")
    ] = "",
    json_out: JsonOpt = False,
) -> None:
    """Deny what a session asks; the model hears the reason."""
    _answer(ctx, decision, "deny", reason, json_out)
