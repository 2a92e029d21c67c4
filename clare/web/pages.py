"""The HTML pages, and the form actions they post (which redirect back with a message).

Every page is complete without JavaScript; ``live.js`` then keeps the parts
marked ``data-live`` current from the SSE stream. A form action answers with
a redirect to the page it came from, carrying ``ok`` or ``error`` to show
there, so a refused command is explained on the page where it was made.
"""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import RedirectResponse, Response

from clare.app.cost import usage_report
from clare.core.errors import ClareError, UsageError
from clare.store import (
    lookups,
    queries_decisions,
    queries_hosts,
    queries_projects,
    queries_sessions,
)
from clare.web import body as body_mod
from clare.web import forms, guard, pagedata, reads
from clare.web.render import page as render_page

if TYPE_CHECKING:
    from starlette.requests import Request

    from clare.web.context import WebContext

MAX_FORM_BYTES = 256 * 1024


class Pages:
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx
        self.sync = pagedata.SyncCache()

    async def page(self, request: Request, template: str, data: dict[str, Any]) -> Response:
        """A page with what the navigation shows on every page: the pending decisions."""
        pending = await self.ctx.read(lambda v, _e: queries_decisions.pending_ids(v))
        return render_page(self.ctx, request, template, {**data, "needs_you": pending})

    async def decisions(self, request: Request) -> Response:
        """Needs you: the permission prompts waiting on every host, to allow or deny."""

        def read(v: Any, e: Any) -> dict[str, Any]:
            lately = queries_decisions.list_decisions(v, include_settled=True, limit=20)
            return {
                "decisions": queries_decisions.list_decisions(v),
                "recent": [d for d in reversed(lately) if not d["pending"]][:10],
                "seq": reads.last_seq(e),
            }

        data = await self.ctx.read(read)
        return await self.page(request, "decisions.html", data)

    async def overview(self, request: Request) -> Response:
        ctx = self.ctx
        data = await ctx.read(
            lambda v, e: pagedata.overview(v, e, ctx.paths, ctx.config, self.sync)
        )
        data["sync"] = {**data["sync"], "gossip": await ctx.gossip.links()}
        return await self.page(request, "overview.html", data)

    async def projects(self, request: Request) -> Response:
        data = await self.ctx.read(
            lambda v, e: {"projects": queries_projects.list_projects(v), "seq": reads.last_seq(e)}
        )
        return await self.page(request, "projects.html", data)

    async def board(self, request: Request) -> Response:
        name = request.path_params["name"]
        filters = {k: request.query_params.get(k, "")[:200] for k in pagedata.BOARD_FILTERS}
        cutoff = lookups.archive_cutoff(int(time.time() * 1000), self.ctx.config.archive_after_days)
        data = await self.ctx.read(lambda v, e: pagedata.board(v, e, name, filters, cutoff))
        return await self.page(request, "board.html", data)

    async def task(self, request: Request) -> Response:
        prefix = request.path_params["task_id"]

        def read(v: Any, e: Any) -> dict[str, Any]:
            task_id = pagedata.resolve_task(v, prefix, deleted_too=True)
            return pagedata.task_page(v, e, task_id, self.ctx.config, int(time.time() * 1000))

        data = await self.ctx.read(read)
        return await self.page(request, "task.html", data)

    async def sessions(self, request: Request) -> Response:
        show_all = request.query_params.get("all", "") in ("1", "yes", "true")
        data = await self.ctx.read(
            lambda v, e: {
                "sessions": reads.list_sessions(v, live_only=not show_all),
                "show_all": show_all,
                "seq": reads.last_seq(e),
            }
        )
        return await self.page(request, "sessions.html", data)

    async def session(self, request: Request) -> Response:
        prefix = request.path_params["session_id"]

        def read(v: Any, e: Any) -> dict[str, Any]:
            full = queries_sessions.resolve_session(v, prefix)
            session = reads.get_session(v, e, full)
            session["cost"] = usage_report(session.get("usage") or {}, self.ctx.config)
            return {"session": session, "seq": reads.last_seq(e)}

        data = await self.ctx.read(read)
        return await self.page(request, "session.html", data)

    async def messages(self, request: Request) -> Response:
        data = await self.ctx.read(
            lambda v, e: {"messages": reads.list_messages(v, e), "seq": reads.last_seq(e)}
        )
        return await self.page(request, "messages.html", data)

    async def events(self, request: Request) -> Response:
        filters = event_filters(request.query_params)
        data = await self.ctx.read(
            lambda v, e: {
                "events": reads.list_events(e, queries_hosts.host_names(v), **filters),
                "seq": reads.last_seq(e),
            }
        )
        shown = {k: v for k, v in filters.items() if v is not None and k != "limit"}
        data.update(filters=shown, limit=filters["limit"])
        return await self.page(request, "events.html", data)

    async def action(self, request: Request) -> Response:
        """POST /actions/{name}: a form, checked for its CSRF token, sent to the writer."""
        name = request.path_params["name"]
        back = safe_back(request.headers.get("referer", ""), "/")
        try:
            fields = await read_form(request)
            back = safe_back(fields.get("next", ""), back)
            if not guard.csrf_ok(fields.get("csrf"), self.ctx.csrf):
                raise UsageError("the form has expired (the server restarted): reload the page")
            args = forms.form_args(name, fields, self.ctx.author, now_ms())
            result = await run_action(self.ctx, name, args)
        except ClareError as exc:
            return RedirectResponse(with_query(back, error=str(exc)), status_code=303)
        target = back
        if name == "task.add" and fields.get("open") == "1":
            target = f"/tasks/{result['task']}"
        elif name == "task.delete":
            target = f"/projects/{result['project']}"  # the task's page is gone from lists
        elif name == "project.rename":
            target = f"/projects/{result['project']}"
        elif name == "project.delete":
            target = "/projects"
        return RedirectResponse(with_query(target, ok=describe(name, result)), status_code=303)


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form body (what the page's forms send), bounded in size."""
    body_mod.require_media_type(
        request, "application/x-www-form-urlencoded", "send the form url-encoded, as the page does"
    )
    body = await body_mod.read_bounded(request, MAX_FORM_BYTES, "the form")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=100)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"the form could not be read: {exc}") from None
    return dict(pairs)


async def run_action(ctx: WebContext, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Resolve task prefixes, then send the action's command and wait for the views."""
    if name not in forms.ACTIONS:
        raise UsageError(f"unknown action {name!r}")
    if isinstance(args.get("decision"), str) and args["decision"]:
        prefix = args["decision"]
        args["decision"] = await ctx.read(
            lambda v, _e: queries_decisions.resolve_decision(v, prefix)
        )
    for key in forms.TASK_FIELDS:
        if isinstance(args.get(key), str) and args[key]:
            args[key] = await ctx.read(partial(_resolve, prefix=args[key]))
    if name == "task.add" and args.get("depends_on"):
        deps = list(args["depends_on"])
        args["depends_on"] = await ctx.read(
            lambda v, _e: [pagedata.resolve_task(v, d) for d in deps]
        )
    return await ctx.submit(forms.ACTIONS[name].from_wire(args))


def _resolve(views: Any, _events: Any, prefix: str) -> str:
    return pagedata.resolve_task(views, prefix)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def describe(name: str, result: dict[str, Any]) -> str:
    what = {
        "project.add": "project {project} added",
        "task.add": "task {task} added",
        "task.update": "task {task} updated",
        "task.state": "task {task} is now {state}",
        "task.assign": "task {task} assigned to {assignee}",
        "task.unassign": "task {task} unassigned",
        "task.note": "note added to {task}",
        "task.review": "task {task} is now {state}",
        "task.delete": "task {task} deleted",
        "project.rename": "project {previous} renamed to {project}",
        "project.delete": "project {project} deleted, with {tasks_deleted} tasks",
        "broadcast": "message sent",
        "decision.allow": "{decision} allowed",
        "decision.deny": "{decision} denied",
        "dispatch": "dispatch {request} sent to its host: the session shows here once started",
        "session.stop": "stop {request} sent to the session's host",
    }[name]
    try:
        return what.format(**result)
    except (KeyError, IndexError):
        return "done"


def event_filters(params: Any) -> dict[str, Any]:
    def number(name: str) -> int | None:
        text = str(params.get(name, "")).strip()
        if not text:
            return None
        if not text.isdigit():
            raise UsageError(f"{name} must be a whole number")
        return int(text)

    return {
        "kind": params.get("kind") or None,
        "entity": params.get("entity") or None,
        "host": params.get("host") or None,
        "before": number("before"),
        "after": number("after"),
        "limit": number("limit") or 100,
    }


def safe_back(url: str, default: str) -> str:
    """A local path to return to: never another site (an open redirect)."""
    parts = urlsplit(url)
    path = parts.path or ""
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return default
    return path + (f"?{parts.query}" if parts.query else "")


def with_query(url: str, **values: str) -> str:
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and p.split("=")[0] not in ("ok", "error")]
    query = "&".join([*kept, urlencode({k: v[:500] for k, v in values.items()})])
    return f"{parts.path}?{query}"
