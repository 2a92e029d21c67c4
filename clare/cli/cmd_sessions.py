"""``clare session list|show``, and the fleet part of ``clare status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, short_time, table
from clare.store import lookups, queries

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

session_app = typer.Typer(help="Agent sessions seen on every host.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")


def resolve(inst: Instance, prefix: str) -> str:
    return queries.resolve_session(inst.views(), prefix)


def _tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1000:
        return f"{n / 1000:.0f}k"
    return str(n)


def _status(s: dict[str, Any]) -> str:
    if s["status"] == "waiting" and s["waiting_for"]:
        return f"waiting ({s['waiting_for']})"
    if s.get("job_id"):
        return f"{s['status']} (background {s['job_id']})"
    return str(s["status"])


@session_app.command("list")
def list_(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Only sessions on this host.")] = None,
    project: Annotated[str | None, typer.Option("--project", "-p")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Ended sessions too.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List sessions, live ones by default, most recently active first."""
    inst: Instance = ctx.obj
    views = inst.views()
    lookups.need_known(views, project=project, host=host)
    sessions = queries.list_sessions(views, host=host, project=project, include_ended=all_)
    if json_out:
        emit_json(sessions)
        return
    if not sessions:
        print("no sessions" if all_ else "no live sessions (--all shows ended ones)")
        return
    rows = [
        [
            s["id"][:8],
            s["host"],
            s["project"],
            s["branch"],
            _status(s),
            short_time(s["last_activity"]),
            _tokens(s["tokens"]),
            s["task"],
            s["title"] or s["first_prompt"] or s["cwd"],
        ]
        for s in sessions
    ]
    table(rows, ["id", "host", "project", "branch", "status", "active", "tokens", "task", "about"])


@session_app.command("show")
def show(ctx: typer.Context, session_id: str, json_out: JsonOpt = False) -> None:
    """Show one session (an id prefix is enough) with its tasks and messages."""
    inst: Instance = ctx.obj
    views = inst.views()
    session = queries.get_session(views, queries.resolve_session(views, session_id))
    if json_out:
        emit_json(session)
        return
    print(f"{session['id']}  {session['title'] or session['first_prompt'] or ''}")
    print(f"  host {session['host']}  pid {session['pid'] or '-'}  status {_status(session)}")
    print(f"  cwd {session['cwd'] or '-'}  project {session['project'] or '-'}")
    print(f"  branch {session['branch'] or '-'}  model {session['model'] or '-'}")
    print(
        f"  started {short_time(session['started_at'])}  "
        f"active {short_time(session['last_activity'])}  "
        f"tokens in {session['tokens_in']} out {session['tokens_out']}"
    )
    if session["tmux_pane"]:
        print(f"  tmux {session['tmux_pane']}")
    if session.get("job_id"):
        print(f"  background session: claude attach {session['job_id']}")
    if session["tasks"]:
        print("\ntasks:")
        for t in session["tasks"]:
            print(f"  {t['id']}  {t['state']:<11} {t['title']}")
    if session["messages"]:
        print("\nmessages delivered:")
        for m in session["messages"]:
            print(f"  {short_time(m['delivered_at'])}  ({m['via']}) {m['text']}")


def fleet(views: Any) -> list[dict[str, Any]]:
    """Live sessions grouped by host, for ``clare status``."""
    hosts: dict[str, list[dict[str, Any]]] = {}
    for s in queries.list_sessions(views):
        hosts.setdefault(s["host"], []).append(s)
    return [{"host": host, "sessions": sessions} for host, sessions in sorted(hosts.items())]


def print_fleet(hosts: list[dict[str, Any]]) -> None:
    if not hosts:
        print("no live sessions")
        return
    for entry in hosts:
        print(f"sessions on {entry['host']}:")
        for s in entry["sessions"]:
            task = f"{s['task']} {s['task_title']}" if s["task"] else "no task"
            print(
                f"  {s['id'][:8]}  {_status(s):<10} {s['project'] or '-':<12} "
                f"active {short_time(s['last_activity'])}  tokens {_tokens(s['tokens'])}  {task}"
            )
