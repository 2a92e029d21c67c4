"""``/api/v1``: the JSON API, with the field names of the CLI's ``--json`` (docs/web-api.md)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from clare.core.errors import UsageError
from clare.domain.states import STATES
from clare.store import (
    queries_decisions,
    queries_dispatch,
    queries_hosts,
    queries_projects,
    queries_sessions,
    queries_tasks,
)
from clare.store import views as views_mod
from clare.web import body as body_mod
from clare.web import forms, pagedata, reads
from clare.web.pages import event_filters, now_ms, run_action

if TYPE_CHECKING:
    from starlette.requests import Request

    from clare.web.context import WebContext

MAX_JSON_BYTES = 256 * 1024


class Api:
    def __init__(self, ctx: WebContext, sync: pagedata.SyncCache) -> None:
        self.ctx = ctx
        self.sync = sync
        self.status_cache = pagedata.StatusCache(sync)

    async def status(self, request: Request) -> Response:
        ctx = self.ctx
        data, position = await ctx.read(
            lambda v, e: (self.status_cache.get(v, e, ctx.paths, ctx.config), views_mod.position(v))
        )
        # The views' own position: the node hears the projector's notices only while
        # something here waits on them.
        data["web"] = {"streams": ctx.hub.subscribers, "view_position": position}
        data["sync"] = {**data["sync"], "gossip": await ctx.gossip.links()}
        return JSONResponse(data)

    async def projects(self, request: Request) -> Response:
        return JSONResponse(await self.ctx.read(lambda v, _e: queries_projects.list_projects(v)))

    async def project(self, request: Request) -> Response:
        name = request.path_params["name"]
        return JSONResponse(
            await self.ctx.read(lambda v, _e: queries_projects.get_project(v, name))
        )

    async def tasks(self, request: Request) -> Response:
        params = request.query_params
        state = params.get("state") or None
        if state is not None and state not in (*STATES, "ready"):
            raise UsageError(f"unknown state {state!r}; states are {', '.join(STATES)}, ready")
        return JSONResponse(
            await self.ctx.read(
                lambda v, _e: queries_tasks.list_tasks(
                    v,
                    project=params.get("project") or None,
                    state=state,
                    assignee=params.get("assignee") or None,
                    search=params.get("search") or None,
                    tag=params.get("tag") or None,
                )
            )
        )

    async def task(self, request: Request) -> Response:
        prefix = request.path_params["task_id"]
        return JSONResponse(
            await self.ctx.read(
                lambda v, e: queries_tasks.get_task(v, e, queries_tasks.resolve_task(v, prefix))
            )
        )

    async def sessions(self, request: Request) -> Response:
        live_only = request.query_params.get("all", "") not in ("1", "yes", "true")
        return JSONResponse(
            await self.ctx.read(lambda v, _e: reads.list_sessions(v, live_only=live_only))
        )

    async def session(self, request: Request) -> Response:
        prefix = request.path_params["session_id"]
        return JSONResponse(
            await self.ctx.read(
                lambda v, e: reads.get_session(v, e, queries_sessions.resolve_session(v, prefix))
            )
        )

    async def hosts(self, request: Request) -> Response:
        ctx = self.ctx
        data = await ctx.read(lambda v, e: self.sync.get(v, e, ctx.config))
        return JSONResponse({**data, "gossip": await ctx.gossip.links()})

    async def dispatch_hosts(self, request: Request) -> Response:
        """Every host's dispatch offer and its free places, as ``clare dispatch --hosts``."""
        return JSONResponse(await self.ctx.read(lambda v, e: queries_dispatch.dispatch_hosts(v)))

    async def events(self, request: Request) -> Response:
        filters = event_filters(request.query_params)
        return JSONResponse(
            await self.ctx.read(
                lambda v, e: reads.list_events(e, queries_hosts.host_names(v), **filters)
            )
        )

    async def messages(self, request: Request) -> Response:
        return JSONResponse(await self.ctx.read(lambda v, e: reads.list_messages(v, e)))

    async def act(self, request: Request, action: str, **path_args: str) -> Response:
        """A POST: JSON body in, the writer's answer out (201 when something was made)."""
        # A cross-site form can only send form encodings; JSON needs a preflight.
        body_mod.require_media_type(
            request,
            "application/json",
            "send the request body as JSON (Content-Type: application/json)",
        )
        raw = await body_mod.read_bounded(request, MAX_JSON_BYTES)
        try:
            body: Any = json.loads(raw or b"{}")
        except ValueError as exc:
            raise UsageError(f"the request body is not JSON: {exc}") from None
        args = forms.json_args(action, body, self.ctx.author, now_ms())
        args.update(path_args)
        result = await run_action(self.ctx, action, args)
        created = action in ("project.add", "task.add", "task.note", "broadcast")
        return JSONResponse(result, status_code=201 if created else 200)

    async def decisions(self, request: Request) -> Response:
        every = request.query_params.get("all", "") in ("1", "yes", "true")
        return JSONResponse(
            await self.ctx.read(
                lambda v, _e: queries_decisions.list_decisions(v, include_settled=every)
            )
        )

    async def decision(self, request: Request) -> Response:
        prefix = request.path_params["decision_id"]
        return JSONResponse(
            await self.ctx.read(
                lambda v, _e: queries_decisions.get_decision(
                    v, queries_decisions.resolve_decision(v, prefix)
                )
            )
        )

    def poster(
        self, action: str, path_field: str | None = None, path_param: str = "task_id"
    ) -> Any:
        async def endpoint(request: Request) -> Response:
            extra = {path_field: request.path_params[path_param]} if path_field else {}
            return await self.act(request, action, **extra)

        return endpoint
