"""``clare pull`` and ``clare done``: what an agent runs from inside its session.

The session is found from the environment Claude Code gives its Bash tool
(:mod:`clare.sessions.whoami`); ``--session`` overrides. What ``pull`` reports
(tasks, waiting messages, lost claims, the next step) and which task
``pull --claim`` may take are decided by :mod:`clare.app.agent`; this module
reads the options and prints.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from clare.app import agent
from clare.app.instance import Instance
from clare.cli.output import emit_json
from clare.core.errors import UsageError
from clare.domain.commands import TaskState
from clare.store import queries

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SessionOpt = Annotated[
    str | None, typer.Option("--session", help="The session (default: the one this runs in).")
]


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("done")(done)


def pull(
    ctx: typer.Context,
    session: SessionOpt = None,
    claim: Annotated[
        bool, typer.Option("--claim", help="Take the highest-priority ready task first.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show this session's tasks, messages and next step (run it from inside a session)."""
    inst: Instance = ctx.obj
    session_id, cwd = agent.current_session(inst, session)
    report = agent.pull(inst, session_id, cwd, claim=claim, now_ms=int(time.time() * 1000))
    if json_out:
        emit_json(report)
        return
    _print_report(report, claim)


def _print_report(report: dict[str, Any], claim: bool) -> None:
    print(f"session {report['session']}  project {report['project'] or '-'}")
    if claim:
        if report["claimed"]:
            print(f"claimed {report['claimed']}")
        elif report["project"] is None:
            print("no task to claim: this session is in no project")
        else:
            print(f"no ready task to claim in project {report['project']}")
    for lost in report["lost_claims"]:
        print(f"lost a claim on {lost['task']}: {lost['description']}")
    for t in report["tasks"]:
        print(f"\n{t['id']}  [{t['state']}]  {t['title']}")
        for dep in t["dependencies"]:
            print(f"  depends on {dep['id']} ({dep['state']}) {dep['title'] or ''}")
        for line in (t["body"] or "").splitlines():
            print(f"  {line}")
    for m in report["messages"]:
        print(f"\nmessage {m['id']} from {m['author'] or '-'}: {m['text']}")
    print(f"\nnext: {report['next']}")


def done(
    ctx: typer.Context,
    note: Annotated[str, typer.Option("--note", help="What was done.")] = "",
    session: SessionOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Mark this session's current task done (run it from inside a session)."""
    inst: Instance = ctx.obj
    session_id, _ = agent.current_session(inst, session)
    current = queries.session_tasks(inst.views()).get(session_id)
    if current is None:
        raise UsageError(f"session {session_id} has no open task: see `clare pull`")
    result = inst.send(
        TaskState(task=current[0], state="done", note=note, author=f"session:{session_id}")
    )
    if json_out:
        emit_json(result)
    else:
        print(f"{current[0]} done")
