"""SSE framing and the no-gap cursor: pure."""

from __future__ import annotations

import json

from clare.web import sse


def test_frames_carry_id_event_and_one_line_of_json() -> None:
    framed = sse.frame({"text": "two\nlines"}, event="event", event_id=42).decode()
    assert framed.endswith("\n\n")
    lines = framed.strip("\n").split("\n")
    assert lines[:2] == ["id: 42", "event: event"]
    assert json.loads(lines[2].removeprefix("data: ")) == {"text": "two\nlines"}
    assert sse.frame({}).decode() == "data: {}\n\n"


def test_comments_and_preamble() -> None:
    assert sse.comment("ping") == b": ping\n\n"
    assert sse.preamble() == f"retry: {sse.RETRY_MS}\n\n".encode()


def test_positions_are_parsed_strictly() -> None:
    assert sse.parse_position("17") == 17
    assert sse.parse_position(" 3 ") == 3
    assert sse.parse_position(None) is None
    assert sse.parse_position("-1") is None
    assert sse.parse_position("abc") is None
    assert sse.parse_position("9" * 30) is None
