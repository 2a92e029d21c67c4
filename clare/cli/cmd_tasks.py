"""``clare task ...``, ``clare note``, ``clare assign``, ``clare unassign``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, safe, short_time, table
from clare.core.errors import UsageError
from clare.domain.commands import (
    TaskAdd,
    TaskAssign,
    TaskDelete,
    TaskNote,
    TaskReview,
    TaskState,
    TaskUnassign,
    TaskUpdate,
)
from clare.domain.states import MAX_PRIORITY, STATES

# clare.store.queries_tasks (and with it the event log and the HLC) is imported by
# the functions that read the views, not here: `task add`, run for every new task,
# reads nothing unless it names dependencies.

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
NoteOpt = Annotated[str, typer.Option("--note", help="Add a progress note with the change.")]

task_app = typer.Typer(help="Tasks: add, list, show, change state, update.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(task_app, name="task")
    app.command("note")(note)
    app.command("assign")(assign)
    app.command("unassign")(unassign)


def resolve(inst: Instance, prefix: str) -> str:
    from clare.store import queries_tasks

    return queries_tasks.resolve_task(inst.views(), prefix)


def _resolve_all(inst: Instance, prefixes: list[str]) -> list[str]:
    from clare.store import queries_tasks

    views = inst.views()
    return [queries_tasks.resolve_task(views, p) for p in prefixes]


def _print_result(result: dict[str, Any], json_out: bool, text: str) -> None:
    if json_out:
        emit_json(result)
    else:
        print(text)


@task_app.command("add")
def add(
    ctx: typer.Context,
    title: str,
    project: Annotated[str, typer.Option("--project", "-p", help="The task's project.")],
    priority: Annotated[
        int,
        typer.Option(min=-MAX_PRIORITY, max=MAX_PRIORITY, help="Higher is more urgent."),
    ] = 0,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    depends_on: Annotated[
        list[str] | None, typer.Option("--depends-on", help="A task id it waits for (repeatable).")
    ] = None,
    body: Annotated[str, typer.Option(help="What to do, in detail.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Add a task to a project; prints its id."""
    inst: Instance = ctx.obj
    deps = _resolve_all(inst, [d for d in depends_on if d]) if depends_on else []
    result = inst.submit(
        TaskAdd(
            project=project,
            title=title,
            priority=priority,
            tags=tuple(t for t in tag or [] if t),
            depends_on=tuple(deps),
            body=body,
            author=inst.author,
        )
    )
    _print_result(result, json_out, result["task"])


@task_app.command("list")
def list_(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option("--project", "-p")] = None,
    state: Annotated[str | None, typer.Option(help=f"One of {', '.join(STATES)} or ready.")] = None,
    search: Annotated[
        str | None, typer.Option(help="Only tasks with all these words in id, title or body.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only tasks with this tag.")] = None,
    assignee: Annotated[
        str | None,
        typer.Option(
            help="Only tasks assigned to this (session:ID, host:NAME, group:NAME or a name)."
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Archived tasks too (done or cancelled long ago).")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List tasks, most urgent first.

    Done and cancelled tasks unchanged for `[tasks] archive_after_days` of
    clare.toml (14 by default) are archived: left out unless --all or --state
    names their state. Nothing is deleted.
    """
    if state is not None and state not in (*STATES, "ready"):
        raise UsageError(f"unknown state {state!r}; states are {', '.join(STATES)}, ready")
    import time

    from clare.store import lookups, queries_tasks

    inst: Instance = ctx.obj
    views = inst.views()
    lookups.need_known(views, project=project, assignee=assignee)
    archived_before = None
    if not all_ and state is None:
        archived_before = lookups.archive_cutoff(
            int(time.time() * 1000), inst.config.archive_after_days
        )
    tasks = queries_tasks.list_tasks(
        views,
        project=project,
        state=state,
        search=search,
        tag=tag,
        assignee=assignee,
        limit=limit,
        archived_before=archived_before,
    )
    if json_out:
        emit_json(tasks)
        return
    if not tasks:
        print("no tasks")
        return
    rows = [
        [
            t["id"],
            t["project"],
            t["state"] + ("*" if t["ready"] else ""),
            t["priority"],
            t["assignee"],
            t["title"],
        ]
        for t in tasks
    ]
    table(rows, ["id", "project", "state", "prio", "assignee", "title"])


@task_app.command("show")
def show(ctx: typer.Context, task_id: str, json_out: JsonOpt = False) -> None:
    """Show a task with its history of events and any conflicts."""
    from clare.store import queries_hosts, queries_tasks

    inst: Instance = ctx.obj
    views = inst.views()
    full = queries_tasks.resolve_task(views, task_id, deleted_too=True)
    task = queries_tasks.get_task(views, inst.events(), full)
    if json_out:
        emit_json(task)
        return
    ready = " (ready)" if task["ready"] else ""
    print(f"{task['id']}  {safe(task['title'])}" + ("  [DELETED]" if task["deleted"] else ""))
    print(f"  project {task['project']}  state {task['state']}{ready}  priority {task['priority']}")
    print(f"  assignee {task['assignee'] or '-'}  tags {safe(','.join(task['tags'])) or '-'}")
    if task["depends_on"]:
        print(f"  depends on {', '.join(task['depends_on'])}")
    for w in task["waiting_on"]:
        if task["state"] == "todo" and w["state"] in ("cancelled", "deleted", None):
            why = f"was {w['state']}" if w["state"] else "is not known here"
            print(
                f"  never ready while {w['task']} {why}: reopen it, or drop it with "
                f"`clare task update {task['id']} --depends-on ...`"
            )
    print(f"  created {short_time(task['created_at'])}  updated {short_time(task['updated_at'])}")
    if task["body"]:
        print()
        for line in task["body"].splitlines():
            print(f"  {safe(line)}")
    if task["dispatches"]:
        print("\ndispatched:")
        for d in task["dispatches"]:
            outcome = d["session"] or d["reason"] or ""
            print(f"  {d['id']}  to {d['host']}  {d['state']:<8} {safe(outcome)}")
    if task["conflicts"]:
        print("\nconflicts (concurrent changes on different hosts):")
        for c in task["conflicts"]:
            print(f"  {short_time(c['at'])} {c['field']}: {c['description']}")
    hosts = queries_hosts.host_names(views)
    if task["work"]:
        _print_work(task["work"])
    print("\nhistory:")
    for e in task["history"]:
        data = e["data"] or {}
        detail = (
            data.get("text") or data.get("state") or data.get("assignee") or data.get("title") or ""
        )
        who = data.get("author") or hosts.get(e["origin"], e["origin"][:8])
        print(f"  {short_time(e['at'])}  {e['kind']:<16} {safe(str(detail))}  ({safe(str(who))})")


def _print_work(work: dict[str, Any]) -> None:
    where = work["host_name"] or work["host"][:8]
    print(f"\nwork (recorded {short_time(work['at'])} on {where}, in {safe(work['cwd'])}):")
    if work["problem"]:
        print(f"  not fully read: {safe(work['problem'])}")
    if work["branch"]:
        base = f" since {safe(work['base'])} ({work['base_commit'][:10]})" if work["base"] else ""
        print(f"  branch {safe(work['branch'])}{base}, head {work['head'][:10]}")
    if work["pr_url"]:
        print(f"  pull request {safe(work['pr_url'])}")
    more = work["commits_total"] - len(work["commits"])
    print(f"  {work['commits_total']} commits" + (f" ({more} more not listed)" if more > 0 else ""))
    for c in work["commits"]:
        print(f"    {c['hash'][:10]} {safe(c['subject'])}")
    more = work["files_total"] - len(work["files"])
    print(f"  {work['files_total']} files changed" + (f" ({more} more)" if more > 0 else ""))
    for f in work["files"]:
        counts = "binary" if f["added"] is None else f"+{f['added']} -{f['deleted']}"
        print(f"    {counts:>14}  {safe(f['path'])}")
    if work["uncommitted"]:
        print(f"  {len(work['uncommitted'])} uncommitted changes:")
        for line in work["uncommitted"]:
            print(f"    {safe(line)}")


def _set_state(
    ctx: typer.Context, task_id: str, state: str, note: str, json_out: bool, force: bool = False
) -> None:
    inst: Instance = ctx.obj
    full = resolve(inst, task_id)
    result = inst.submit(
        TaskState(task=full, state=state, note=note, author=inst.author, force=force)
    )
    _print_result(result, json_out, f"{full} {state}")


@task_app.command("start")
def start(
    ctx: typer.Context,
    task_id: str,
    note: NoteOpt = "",
    force: Annotated[bool, typer.Option(help="Start even if dependencies are not done.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Mark a task in progress."""
    _set_state(ctx, task_id, "in_progress", note, json_out, force)


@task_app.command("block")
def block(ctx: typer.Context, task_id: str, note: NoteOpt = "", json_out: JsonOpt = False) -> None:
    """Mark a task blocked (say why with --note)."""
    _set_state(ctx, task_id, "blocked", note, json_out)


@task_app.command("review")
def review(
    ctx: typer.Context,
    task_id: str,
    approve: Annotated[
        bool, typer.Option("--approve", help="Accept the work: the task is done.")
    ] = False,
    request_changes: Annotated[
        str | None,
        typer.Option(
            "--request-changes",
            metavar="TEXT",
            help="Send the task back to in progress; TEXT reaches the session that did the "
            "work once, at its next turn (at once through its inbox when it runs here).",
        ),
    ] = None,
    note: NoteOpt = "",
    json_out: JsonOpt = False,
) -> None:
    """Review a task: --approve or --request-changes TEXT; with neither, send it to review."""
    if approve and request_changes is not None:
        raise UsageError("give either --approve or --request-changes, not both")
    if not approve and request_changes is None:
        _set_state(ctx, task_id, "review", note, json_out)
        return
    import time

    inst: Instance = ctx.obj
    full = resolve(inst, task_id)
    now_ms = int(time.time() * 1000)
    result = inst.submit(
        TaskReview(
            task=full,
            verdict="approve" if approve else "request_changes",
            text=note if approve else (request_changes or ""),
            author=inst.author,
            sent_at=now_ms,
        )
    )
    delivered: list[dict[str, Any]] = []
    if result.get("message"):
        from clare.app.delivery import deliver_now

        delivered = deliver_now(inst, result["message"], now_ms)
    if json_out:
        emit_json({**result, "delivered_now": delivered})
        return
    print(f"{full} {result['state']}")
    if result.get("message"):
        print(f"  sent to session {result['session'][:8]} ({result['message']})")
    elif not approve:
        print("  no session holds the task: nobody was told")
    for entry in delivered:
        state = "delivered" if entry["confirmed"] else f"not confirmed ({entry['error']})"
        print(f"  {entry['via']} {entry['session'][:8]}: {state}")


@task_app.command("done")
def done(ctx: typer.Context, task_id: str, note: NoteOpt = "", json_out: JsonOpt = False) -> None:
    """Mark a task done."""
    _set_state(ctx, task_id, "done", note, json_out)


@task_app.command("cancel")
def cancel(ctx: typer.Context, task_id: str, note: NoteOpt = "", json_out: JsonOpt = False) -> None:
    """Cancel a task."""
    _set_state(ctx, task_id, "cancelled", note, json_out)


@task_app.command("reopen")
def reopen(ctx: typer.Context, task_id: str, note: NoteOpt = "", json_out: JsonOpt = False) -> None:
    """Put a done, cancelled or blocked task back to todo."""
    _set_state(ctx, task_id, "todo", note, json_out)


@task_app.command("delete")
def delete(
    ctx: typer.Context,
    task_id: str,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Delete a task: it leaves every list and board; its history stays in `clare log`."""
    inst: Instance = ctx.obj
    full = resolve(inst, task_id)
    result = inst.submit(TaskDelete(task=full, reason=reason, author=inst.author))
    _print_result(result, json_out, f"{full} deleted")


@task_app.command("update")
def update(
    ctx: typer.Context,
    task_id: str,
    title: Annotated[str | None, typer.Option(help="New title.")] = None,
    priority: Annotated[
        int | None, typer.Option(min=-MAX_PRIORITY, max=MAX_PRIORITY, help="New priority.")
    ] = None,
    body: Annotated[str | None, typer.Option(help="New body.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Replace the tags ('' clears them).")
    ] = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option("--depends-on", help="Replace the dependencies ('' clears them)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a task's title, priority, body, tags or dependencies."""
    inst: Instance = ctx.obj
    full = resolve(inst, task_id)
    # An empty value clears: `--tag ''` leaves no tags, `--depends-on ''` no dependencies.
    command = TaskUpdate(
        task=full,
        title=title,
        priority=priority,
        body=body,
        tags=None if tag is None else tuple(t for t in tag if t),
        depends_on=(
            None if depends_on is None else tuple(_resolve_all(inst, [d for d in depends_on if d]))
        ),
        author=inst.author,
    )
    result = inst.submit(command)
    _print_result(result, json_out, f"{full} updated")


def note(
    ctx: typer.Context,
    words: Annotated[
        list[str],
        typer.Argument(
            help="TASK TEXT, or just TEXT from inside an agent session (its current task).",
            show_default=False,
        ),
    ],
    session: Annotated[
        str | None, typer.Option(help="With TEXT alone: the session (default: this one).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Add a progress note (an update) to a task.

    `clare note TASK TEXT` notes on any task; `clare note TEXT`, run by an agent
    inside its session, notes on the session's current task.
    """
    inst: Instance = ctx.obj
    if len(words) == 2:
        full, author = resolve(inst, words[0]), inst.author
    elif len(words) == 1:
        from clare.app.agent import current_session
        from clare.store import queries_sessions

        session_id, _ = current_session(inst, session)
        current = queries_sessions.session_tasks(inst.views()).get(session_id)
        if current is None:
            raise UsageError(
                f"session {session_id} has no open task: name one (`clare note TASK TEXT`) "
                "or take one with `clare pull --claim`"
            )
        full, author = current[0], f"session:{session_id}"
    else:
        raise UsageError("give TASK TEXT, or just TEXT from inside a session")
    result = inst.submit(TaskNote(task=full, text=words[-1], author=author))
    _print_result(result, json_out, f"noted on {full}")


def assign(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(help="The task.")],
    session: Annotated[str | None, typer.Argument(help="A session id (or prefix).")] = None,
    host: Annotated[str | None, typer.Option(help="For any session on this host to claim.")] = None,
    group: Annotated[
        str | None, typer.Option(help="For any session in this group to claim.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Assign a task to a session, or to a host or group for a session there to claim."""
    given = [(k, v) for k, v in (("session", session), ("host", host), ("group", group)) if v]
    if len(given) != 1:
        raise UsageError("name exactly one of: a SESSION, --host NAME or --group NAME")
    kind, name = given[0]
    from clare.store import queries_sessions, queries_tasks

    inst: Instance = ctx.obj
    views = inst.views()
    full = queries_tasks.resolve_task(views, task_id)
    if kind == "session":
        name = queries_sessions.resolve_session(views, name)
    result = inst.submit(
        TaskAssign(task=full, assignee_kind=kind, assignee=name, author=inst.author)
    )
    _print_result(result, json_out, f"{full} assigned to {kind} {name}")


def unassign(ctx: typer.Context, task_id: str, json_out: JsonOpt = False) -> None:
    """Take a task away from whoever it is assigned to."""
    inst: Instance = ctx.obj
    full = resolve(inst, task_id)
    result = inst.submit(TaskUnassign(task=full, author=inst.author))
    _print_result(result, json_out, f"{full} unassigned")
