"""Server-sent events, the pure part: message framing and the no-gap cursor.

An SSE stream carries two kinds of message. ``event`` messages are committed
events, with ``id:`` set to the event's local sequence number, so a browser
that reconnects sends ``Last-Event-ID`` and resumes where it stopped. ``view``
messages are the projector's notices that the views changed; they carry no
id, so they never move a reconnecting client's position.

The cursor decides, for each live event, whether to send it, skip it (already
sent during the replay from the store) or first read a gap from the store
(the bus dropped something): the same doorbell rule the projector follows.
"""

from __future__ import annotations

import enum
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


class Admit(enum.Enum):
    SEND = "send"
    STALE = "stale"  # at or below what was sent: a replay already covered it
    GAP = "gap"  # something between the last one sent and this was lost


class Cursor:
    """The last event seq a client has been sent."""

    def __init__(self, last: int) -> None:
        self.last = last

    def admit(self, seq: int) -> Admit:
        if seq <= self.last:
            return Admit.STALE
        if seq == self.last + 1:
            return Admit.SEND
        return Admit.GAP

    def sent(self, seq: int) -> None:
        self.last = max(self.last, seq)
