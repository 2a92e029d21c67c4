"""The Starlette application: routes, error answers, the guard, static assets.

``create_app`` takes everything from a ``WebContext``, so tests build the same
app over an in-process writer and the web node builds it over the real one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from clare.core.errors import ClareError
from clare.runtime.logs import get
from clare.web.api import Api
from clare.web.guard import GuardMiddleware, Policy
from clare.web.pages import Pages
from clare.web.render import error_json, error_page, page
from clare.web.stream import EventStream

if TYPE_CHECKING:
    from starlette.requests import Request

    from clare.web.context import WebContext

log = get("clare.web")


def create_app(ctx: WebContext, policy: Policy | None = None) -> Starlette:
    """The web app of one instance; ``policy`` says who may use it (see ``guard``)."""
    pages = Pages(ctx)
    api = Api(ctx, pages.sync)
    routes = [
        Route("/", pages.overview),
        Route("/projects", pages.projects),
        Route("/projects/{name}", pages.board),
        Route("/tasks/{task_id}", pages.task),
        Route("/sessions", pages.sessions),
        Route("/sessions/{session_id}", pages.session),
        Route("/messages", pages.messages),
        Route("/decisions", pages.decisions),
        Route("/events", pages.events),
        Route("/actions/{name}", pages.action, methods=["POST"]),
        Route("/api/v1/status", api.status),
        Route("/api/v1/projects", api.projects),
        Route("/api/v1/projects", api.poster("project.add"), methods=["POST"]),
        Route("/api/v1/projects/{name}", api.project),
        Route("/api/v1/tasks", api.tasks),
        Route("/api/v1/tasks", api.poster("task.add"), methods=["POST"]),
        Route("/api/v1/tasks/{task_id}", api.task),
        Route("/api/v1/tasks/{task_id}", api.poster("task.update", "task"), methods=["POST"]),
        Route("/api/v1/tasks/{task_id}/state", api.poster("task.state", "task"), methods=["POST"]),
        Route(
            "/api/v1/tasks/{task_id}/assign", api.poster("task.assign", "task"), methods=["POST"]
        ),
        Route(
            "/api/v1/tasks/{task_id}/unassign",
            api.poster("task.unassign", "task"),
            methods=["POST"],
        ),
        Route("/api/v1/tasks/{task_id}/notes", api.poster("task.note", "task"), methods=["POST"]),
        Route(
            "/api/v1/tasks/{task_id}/review", api.poster("task.review", "task"), methods=["POST"]
        ),
        Route("/api/v1/tasks/{task_id}/dispatch", api.poster("dispatch", "task"), methods=["POST"]),
        Route("/api/v1/dispatch/hosts", api.dispatch_hosts),
        Route("/api/v1/sessions", api.sessions),
        Route(
            "/api/v1/sessions/{session_id}/stop",
            api.poster("session.stop", "session", "session_id"),
            methods=["POST"],
        ),
        Route("/api/v1/sessions/{session_id}", api.session),
        Route("/api/v1/hosts", api.hosts),
        Route("/api/v1/events", api.events),
        Route("/api/v1/messages", api.messages),
        Route("/api/v1/messages", api.poster("broadcast"), methods=["POST"]),
        Route("/api/v1/decisions", api.decisions),
        Route("/api/v1/decisions/{decision_id}", api.decision),
        Route(
            "/api/v1/decisions/{decision_id}/allow",
            api.poster("decision.allow", "decision", "decision_id"),
            methods=["POST"],
        ),
        Route(
            "/api/v1/decisions/{decision_id}/deny",
            api.poster("decision.deny", "decision", "decision_id"),
            methods=["POST"],
        ),
        Route("/api/v1/stream", EventStream(ctx)),
        Mount("/static", StaticFiles(packages=[("clare.web", "static")]), name="static"),
    ]

    async def clare_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ClareError)
        if request.url.path.startswith("/api/"):
            return error_json(exc)
        return error_page(ctx, request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        problem = f"nothing at {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        if request.url.path.startswith("/api/"):
            body = {"error": {"code": f"http_{exc.status_code}", "message": problem}}
            return JSONResponse(body, status_code=exc.status_code)
        return page(
            ctx, request, "error.html", {"problem": problem, "code": ""}, status=exc.status_code
        )

    async def bug(request: Request, exc: Exception) -> Response:
        # Not the person's fault: say so on the page, log the details for a report.
        log.exception("request failed", path=request.url.path, error=repr(exc))
        message = f"Clare failed on this request ({type(exc).__name__}); see the web node's log"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": {"code": "bug", "message": message}}, status_code=500)
        return page(ctx, request, "error.html", {"problem": message, "code": "bug"}, status=500)

    middleware = [Middleware(GuardMiddleware, policy=policy or Policy())]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ClareError: clare_error, HTTPException: http_error, Exception: bug},
    )
