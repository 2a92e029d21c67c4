"""Request bodies, read within a bound: a hostile client cannot make the node hold more.

A body is read chunk by chunk as the server receives it, and refused the
moment it passes its bound (or at once, when ``Content-Length`` says it
would): the node never holds more than the bound plus one chunk, however
much the client sends. The media type is compared whole, not searched for.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from clare.core.errors import UsageError

if TYPE_CHECKING:
    from starlette.requests import Request


class BodyTooLarge(UsageError):
    """The client sent a body over the bound (HTTP 413)."""

    code = "too_large"


def media_type(content_type: str) -> str:
    """The media type of a ``Content-Type`` header, without parameters, lower-cased."""
    return content_type.split(";", 1)[0].strip().lower()


def require_media_type(request: Request, expected: str, hint: str) -> None:
    if media_type(request.headers.get("content-type", "")) != expected:
        raise UsageError(hint)


async def read_bounded(request: Request, max_bytes: int, what: str = "the request body") -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{what} is larger than {max_bytes} bytes")
    parts: list[bytes] = []
    size = 0
    # Closed at once when the bound is passed, not whenever the collector gets to it.
    async with contextlib.aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise BodyTooLarge(f"{what} is larger than {max_bytes} bytes")
            parts.append(chunk)
    return b"".join(parts)
