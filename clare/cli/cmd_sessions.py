"""``clare session list|show|stop|attach``, and the fleet part of ``clare status``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, short_time, table
from clare.core.errors import UsageError
from clare.domain.commands import DispatchRequest
from clare.store import lookups, queries_sessions

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

session_app = typer.Typer(help="Agent sessions seen on every host.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(session_app, name="session")


def resolve(inst: Instance, prefix: str) -> str:
    return queries_sessions.resolve_session(inst.views(), prefix)


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
    sessions = queries_sessions.list_sessions(views, host=host, project=project, include_ended=all_)
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
    session = queries_sessions.get_session(
        views, queries_sessions.resolve_session(views, session_id)
    )
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
    if session["dispatches"]:
        print("\ndispatched for:")
        for d in session["dispatches"]:
            print(f"  {d['id']}  {d['action']:<5} {d['state']:<8} {d['task'] or ''}")
    if session["tasks"]:
        print("\ntasks:")
        for t in session["tasks"]:
            print(f"  {t['id']}  {t['state']:<11} {t['title']}")
    if session["messages"]:
        print("\nmessages delivered:")
        for m in session["messages"]:
            print(f"  {short_time(m['delivered_at'])}  ({m['via']}) {m['text']}")


@session_app.command("stop")
def stop(
    ctx: typer.Context,
    session_id: str,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Record the request and return at once.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the host's answer.")] = 60.0,
    json_out: JsonOpt = False,
) -> None:
    """Stop a session, from any host: its own host stops it.

    A background session is ended with `claude stop`, any other one is sent an
    interrupt. The session's host must have turned dispatch on.
    """
    from clare.cli.cmd_dispatch import new_request_id, wait_settled

    inst: Instance = ctx.obj
    views = inst.views()
    session = queries_sessions.get_session(
        views, queries_sessions.resolve_session(views, session_id)
    )
    request = new_request_id()
    inst.submit(
        DispatchRequest(request=request, action="stop", session=session["id"], author=inst.author)
    )
    if no_wait:
        emit_json({"request": request}) if json_out else print(request)
        return
    found = wait_settled(inst, request, timeout, session["host"])
    if json_out:
        emit_json(found)
    else:
        print(f"session {session['id']} stopped on {found['host']} ({found['reason']})")


@session_app.command("attach")
def attach(
    ctx: typer.Context,
    session_id: str,
    print_only: Annotated[
        bool, typer.Option("--print", help="Only print the command to run.")
    ] = False,
) -> None:
    """Join a background session: on its host, runs `claude attach`; elsewhere, prints
    the command to run there."""
    import os

    from clare.app.dispatch import attach_command, claude_env

    inst: Instance = ctx.obj
    views = inst.views()
    session = queries_sessions.get_session(
        views, queries_sessions.resolve_session(views, session_id)
    )
    if not session.get("job_id"):
        raise UsageError(
            f"session {session['id'][:8]} is not a background session: "
            "it runs in a terminal of its own on host " + str(session["host"])
        )
    argv = attach_command(inst.config, session["job_id"])
    here = session["machine_id"] == inst.config.machine_id
    if not here or print_only:
        where = "here" if here else f"on host {session['host']}"
        print(f"{where}, run: {' '.join(argv)}")
        return
    os.execvpe(argv[0], argv, claude_env(inst.config))


def fleet(views: Any) -> list[dict[str, Any]]:
    """Live sessions grouped by host, for ``clare status``."""
    hosts: dict[str, list[dict[str, Any]]] = {}
    for s in queries_sessions.list_sessions(views):
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
