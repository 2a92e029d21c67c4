"""HTML rendering: the template environment, its filters, and error answers.

Templates live in the package (``clare/web/templates``) and autoescape every
value, so text from tasks, notes and sessions is shown, never run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse, JSONResponse

from clare.core.errors import (
    ClareError,
    ConfigError,
    InvalidTransition,
    NotFound,
    ProtocolError,
    ServiceUnavailable,
    StorageError,
    UsageError,
)
from clare.core.text import short_time
from clare.domain.cost import money
from clare.web.body import BodyTooLarge

if TYPE_CHECKING:
    from starlette.requests import Request

    from clare.web.context import WebContext


def _tokens(value: object) -> str:
    n = int(value) if isinstance(value, int | float) else 0
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 1_000:
        return f"{n / 1_000:.1f}k"
    return str(n)


def _short_id(value: object) -> str:
    text = str(value or "")
    return text if len(text) <= 14 else text[:8]


ENV = Environment(
    loader=PackageLoader("clare.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = short_time
ENV.filters["tokens"] = _tokens
ENV.filters["money"] = money
ENV.filters["short"] = _short_id


def status_of(exc: ClareError) -> int:
    """The HTTP status that says whose fault an error is."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, InvalidTransition):
        return 409
    if isinstance(exc, BodyTooLarge):
        return 413
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, ServiceUnavailable | StorageError):
        return 503
    if isinstance(exc, ProtocolError):
        return 502
    if isinstance(exc, ConfigError):
        return 500
    return 500


def page(
    ctx: WebContext,
    request: Request,
    template: str,
    data: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """Render ``template`` with what every page shows (host, csrf, flash messages)."""
    html = ENV.get_template(template).render(
        host_name=ctx.config.name,
        csrf=ctx.csrf,
        path=request.url.path,
        here=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        ok=request.query_params.get("ok", ""),
        error=request.query_params.get("error", ""),
        **(data or {}),
    )
    return HTMLResponse(html, status_code=status)


def error_page(ctx: WebContext, request: Request, exc: ClareError) -> HTMLResponse:
    return page(
        ctx, request, "error.html", {"problem": str(exc), "code": exc.code}, status=status_of(exc)
    )


def error_json(exc: ClareError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": exc.code, "message": str(exc)}}, status_code=status_of(exc)
    )
