"""Server-sent events, the pure part: message framing and the no-gap cursor.

An SSE stream carries two kinds of message. ``event`` messages are committed
events, with ``id:`` set to the event's local sequence number, so a browser
that reconnects sends ``Last-Event-ID`` and resumes where it stopped. ``view``
messages are the projector's notices that the views changed; they carry no
id, so they never move a reconnecting client's position.

Which events to send, skip or first read from the store is decided by the
follower every node uses (:mod:`clare.store.follow`).
"""

from __future__ import annotations

import json
from typing import Any

#: How long a browser waits before reconnecting after the stream ends, in ms.
RETRY_MS = 1000


def frame(data: Any, *, event: str | None = None, event_id: int | None = None) -> bytes:
    """One SSE message; ``data`` is sent as one line of JSON."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event is not None:
        lines.append(f"event: {event}")
    # json.dumps never emits a raw newline, so the data is always one line.
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A comment line: ignored by browsers, it keeps proxies and idle links open."""
    return f": {text}\n\n".encode()


def preamble() -> bytes:
    return f"retry: {RETRY_MS}\n\n".encode()


def parse_position(value: str | None) -> int | None:
    """A ``Last-Event-ID`` header or ``after`` parameter as a seq; None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)
