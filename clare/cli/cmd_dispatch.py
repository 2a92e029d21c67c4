"""``clare dispatch``: start Claude Code on a host for a task, and see who accepts."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clare.cli.output import emit_json, table
from clare.core.errors import NotFound, Refused, UsageError
from clare.domain.commands import DispatchRequest
from clare.store import queries_dispatch, queries_sessions, queries_tasks

if TYPE_CHECKING:
    from clare.app.instance import Instance

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
#: Requests settled for good: the CLI stops waiting when one is reached.
SETTLED = ("started", "refused", "stopped")


def register(app: typer.Typer) -> None:
    app.command("dispatch")(dispatch)


def new_request_id() -> str:
    return "d-" + uuid.uuid4().hex


def wait_settled(inst: Instance, request: str, timeout_s: float, host: str) -> dict[str, Any]:
    """The request once its host settled it; one clear line if it refused or never said."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = queries_dispatch.get_dispatch(inst.views(), request)
        if found is not None and found["state"] in SETTLED:
            if found["state"] == "refused":
                raise Refused(f"refused by host {found['host']}: {found['reason']}")
            return found
        if time.monotonic() > deadline:
            state = found["state"] if found else "not seen"
            raise Refused(
                f"no answer from host {host} in {timeout_s:g} s (request {request} is {state}): "
                "is Clare running there and syncing with this host?"
            )
        time.sleep(0.05)


def next_ready(inst: Instance, project: str | None) -> str:
    views = inst.views()
    for task in queries_tasks.list_tasks(views, project=project, state="ready"):
        assignee = task["assignee"] or ""
        if assignee.startswith("session:"):
            try:
                live = queries_sessions.get_session(views, assignee.removeprefix("session:"))
            except NotFound:
                live = {"status": "ended"}
            if live["status"] != "ended":
                continue
        return str(task["id"])
    where = f" in project {project}" if project else ""
    raise NotFound(f"no ready task{where} to dispatch")


def dispatch(
    ctx: typer.Context,
    task: Annotated[str | None, typer.Argument(help="The task (an id prefix is enough).")] = None,
    host: Annotated[
        str | None, typer.Option(help="The host to start it on (default: this one).")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="The session's name (default clare-TASK).")
    ] = None,
    no_worktree: Annotated[
        bool, typer.Option("--no-worktree", help="Work in the project's folder itself.")
    ] = False,
    next_: Annotated[
        bool, typer.Option("--next", help="Dispatch the most urgent ready task.")
    ] = False,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="With --next: from this project.")
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Record the request and return at once.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the host's answer.")] = 60.0,
    hosts: Annotated[
        bool, typer.Option("--hosts", help="List the hosts that take dispatch, and stop.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Start Claude Code in the background on a host for a task.

    The host starts one `claude --bg` session in the project's folder there (in
    a worktree of its own unless --no-worktree), tells it the task and how to
    report, and the task is assigned to the session. The host must have turned
    dispatch on ([dispatch] in its clare.toml) and know the project's folder.
    """
    inst: Instance = ctx.obj
    if hosts:
        _print_hosts(inst, json_out)
        return
    views = inst.views()
    if next_:
        if task:
            raise UsageError("give a task or --next, not both")
        task_id = next_ready(inst, project)
    elif task:
        task_id = queries_tasks.resolve_task(views, task)
    else:
        raise UsageError("name a task to dispatch, or pass --next")
    request = new_request_id()
    reply = inst.submit(
        DispatchRequest(
            request=request,
            action="start",
            task=task_id,
            host=host or "",
            name=name or "",
            worktree=not no_worktree,
            author=inst.author,
        )
    )
    target = host or inst.config.name
    if no_wait:
        result: dict[str, Any] = {"request": request, "task": task_id, "host": target}
        emit_json(result) if json_out else print(request)
        return
    found = wait_settled(inst, request, timeout, target)
    if json_out:
        emit_json(found)
        return
    del reply
    print(f"{task_id} started on {found['host']} in session {found['session']}")
    if found.get("job_id"):
        print(f"  attach there with: claude attach {found['job_id']}")


def _print_hosts(inst: Instance, json_out: bool) -> None:
    offers = queries_dispatch.dispatch_hosts(inst.views())
    if json_out:
        emit_json(offers)
        return
    if not offers:
        print("no host has said whether it takes dispatch yet")
        return
    rows = [
        [o["host"], "yes" if o["enabled"] else "no", o["free"], o["max_sessions"],
         o["permission_mode"]]
        for o in offers
    ]  # fmt: skip
    table(rows, ["host", "accepts", "free", "max", "permissions"])
