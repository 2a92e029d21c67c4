"""Request bodies: read within their bound, and media types compared whole."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from clare.web.body import BodyTooLarge, media_type, read_bounded

CHUNK = 100_000


def _endless(headers: list[tuple[bytes, bytes]] | None = None) -> tuple[Request, list[int]]:
    """A request whose body never ends; ``taken`` counts the chunks the server handed over."""
    taken: list[int] = []

    async def receive() -> dict[str, Any]:
        taken.append(CHUNK)
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": True}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers or []}
    return Request(scope, receive), taken


async def test_an_endless_body_is_refused_one_chunk_past_its_bound() -> None:
    request, taken = _endless()
    with pytest.raises(BodyTooLarge, match="larger than 256000 bytes"):
        await read_bounded(request, 256_000)
    assert sum(taken) <= 256_000 + CHUNK


async def test_a_body_announced_too_large_is_refused_unread() -> None:
    request, taken = _endless([(b"content-length", b"300000000")])
    with pytest.raises(BodyTooLarge):
        await read_bounded(request, 256_000, "the form")
    assert taken == []


async def test_a_body_within_its_bound_is_read_whole() -> None:
    parts = [b'{"a":', b" 1}", b""]

    async def receive() -> dict[str, Any]:
        body = parts.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)
    assert await read_bounded(request, 100) == b'{"a": 1}'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("application/json", "application/json"),
        (" Application/JSON ; charset=utf-8", "application/json"),
        ("text/plain; x=application/json", "text/plain"),
        ("", ""),
    ],
)
def test_the_media_type_is_the_part_before_parameters(header: str, expected: str) -> None:
    assert media_type(header) == expected
