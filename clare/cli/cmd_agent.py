"""``clare pull`` and ``clare done``: what an agent runs from inside its session.

The session is found from the environment Claude Code gives its Bash tool
(:mod:`clare.sessions.whoami`); ``--session`` overrides. ``pull`` lists the
session's tasks and waiting messages (and records those as delivered), tells
it about claims it lost to another session, and says what to do next.
``pull --claim`` first takes a task: the candidates come from the views, the
choice is the writer's (``task.claim``), so two sessions never get one task.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clare.cli.instance import Instance
from clare.cli.output import emit_json
from clare.errors import ClareError, NotFound, UsageError
from clare.sessions.claude_home import claude_dir
from clare.states import OPEN_STATES
from clare.store import eventlog, queries

if TYPE_CHECKING:
    from clare.sessions.targets import Recipient

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SessionOpt = Annotated[
    str | None, typer.Option("--session", help="The session (default: the one this runs in).")
]
MAX_CANDIDATES = 100
LOST_CLAIM_WINDOW_MS = 24 * 3600 * 1000


def register(app: typer.Typer) -> None:
    app.command("pull")(pull)
    app.command("done")(done)


def claude_folder(inst: Instance) -> Path:
    configured = inst.config.claude_config_dir
    return Path(configured).expanduser() if configured else claude_dir()


def current_session(inst: Instance, given: str | None) -> tuple[str, str]:
    """(session id, cwd hint) of the session this command is for."""
    if given:
        # A session the poller has not seen yet is taken by its id as given.
        with contextlib.suppress(NotFound):
            given = queries.resolve_session(inst.views(), given)
    from clare.sessions.hooked import hooked_dir
    from clare.sessions.whoami import identify  # here: most commands never need it

    identity = identify(claude_folder(inst), given=given, hooked=hooked_dir(inst.paths.data_dir))
    return identity.session, identity.cwd or os.getcwd()


def _recipient(inst: Instance, views: Any, session: str, cwd: str) -> Recipient:
    config = inst.config
    from clare.sessions.recipients import recipient_for

    return recipient_for(
        views, session, machine_id=config.machine_id, host_name=config.name, cwd=cwd
    )


def claim_candidates(views: Any, session: str, who: Recipient) -> list[str]:
    """Ready tasks this session may claim: its own first, then by priority."""
    mine, others = [], []
    allowed = {f"host:{who.host_name}", *(f"group:{g}" for g in who.groups)}
    for task in queries.list_tasks(views, state="ready"):
        assignee = task["assignee"]
        if assignee == f"session:{session}":
            mine.append(task["id"])
        elif assignee in allowed or (assignee is None and who.project == task["project"]):
            others.append(task["id"])
    return [*mine, *others][:MAX_CANDIDATES]


def lost_claims(views: Any, events: Any, session: str, now_ms: int) -> list[dict[str, Any]]:
    """Recent claims by ``session`` that another session won (after a sync)."""
    lost = []
    rows = views.execute(
        "SELECT task, event_id, description, hlc FROM conflicts "
        "WHERE field = 'assignee' AND applied = 0"
    ).fetchall()
    for task_id, event_id, description, stamp in rows:
        if now_ms - (stamp >> 16) > LOST_CLAIM_WINDOW_MS:
            continue
        from clare.domain.events import TaskAssigned
        from clare.domain.fold import decode_event  # the whole domain: only on a lost claim

        for event in eventlog.entity_events(events, task_id):
            if event.id != event_id:
                continue
            try:
                claim = decode_event(event)
            except ClareError:
                continue
            if isinstance(claim, TaskAssigned) and claim.claimed and claim.assignee == session:
                lost.append({"task": task_id, "description": description})
    return lost


def _task_with_deps(views: Any, task: dict[str, Any]) -> dict[str, Any]:
    deps = []
    for dep in task["depends_on"]:
        try:
            found = queries.get_task(views, None, dep)
            deps.append({"id": dep, "title": found["title"], "state": found["state"]})
        except NotFound:
            deps.append({"id": dep, "title": None, "state": "unknown"})
    return {**task, "dependencies": deps}


def _next_step(
    tasks: list[dict[str, Any]],
    claimed: str | None,
    *,
    claim_tried: bool = False,
    project: str | None = "",
) -> str:
    """What the session should do next. ``project`` None: the session is in no project."""
    working = [t for t in tasks if t["state"] == "in_progress"]
    if working:
        t = working[0]
        return (
            f"Work on {t['id']} ({t['title']}). Report progress with `clare note {t['id']} TEXT`; "
            "when it is finished, run `clare done --note 'what you did'`."
        )
    ready = [t for t in tasks if t["state"] == "todo" and t["ready"]]
    if ready:
        return f"Start {ready[0]['id']} with `clare pull --claim`."
    if tasks:
        return "Your tasks wait on others (blocked, in review or dependencies not done)."
    if claimed is None and project is None:
        # Claiming would find nothing of a project: say how to get work instead.
        return (
            "Nothing is assigned to you, and this session's folder is no project's path: "
            "register it with `clare project update NAME --path DIR`, or have a task "
            "assigned to this session."
        )
    if claimed is None and claim_tried:
        return "Nothing is assigned to you and no task is ready to claim: nothing to do now."
    if claimed is None:
        return "Nothing is assigned to you. Run `clare pull --claim` to take the next ready task."
    return "Nothing to do right now."


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
    session_id, cwd = current_session(inst, session)
    now_ms = int(time.time() * 1000)
    views = inst.views()
    who = _recipient(inst, views, session_id, cwd)
    claimed: str | None = None
    if claim:
        result = inst.call(
            "task.claim",
            {
                "session": session_id,
                "candidates": claim_candidates(views, session_id, who),
                "author": f"session:{session_id}",
            },
        )
        claimed = result.get("task")
        views = inst.views()
    tasks = [
        _task_with_deps(views, t)
        for t in queries.list_tasks(views, assignee=f"session:{session_id}")
        if t["state"] in OPEN_STATES
    ]
    from clare.sessions.recipients import pending_messages

    messages = pending_messages(views, who, now_ms)
    if messages:
        inst.call(
            "message.deliver",
            {
                "session": session_id,
                "messages": [m.id for m in messages],
                "via": "pull",
                "at": now_ms,
            },
        )
    lost = lost_claims(views, inst.events(), session_id, now_ms)
    report = {
        "session": session_id,
        "project": who.project or None,
        "host": who.host_name,
        "claimed": claimed,
        "tasks": tasks,
        "messages": [
            {"id": m.id, "text": m.text, "author": m.author, "target": m.target} for m in messages
        ],
        "lost_claims": lost,
        "next": _next_step(tasks, claimed, claim_tried=claim, project=who.project or None),
    }
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
    session_id, _ = current_session(inst, session)
    current = queries.session_tasks(inst.views()).get(session_id)
    if current is None:
        raise UsageError(f"session {session_id} has no open task: see `clare pull`")
    result = inst.call(
        "task.state",
        {"task": current[0], "state": "done", "note": note, "author": f"session:{session_id}"},
    )
    if json_out:
        emit_json(result)
    else:
        print(f"{current[0]} done")
