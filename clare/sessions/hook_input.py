"""What a Claude Code hook gets on stdin: read within bounds, then parsed into a ``HookCall``.

Claude Code writes the JSON and closes the pipe at once, but nothing makes a
caller do so: a hook run by hand, or by a wrapper that keeps the pipe open,
would wait on ``read()`` for ever, and with it the user's turn. So the read
stops at end of file, at ``max_bytes`` or at a deadline, whichever comes first;
an input cut short by either is not a call at all (half a JSON document is
never a valid one).

Parsing keeps only what Clare uses, each string bounded, and drops calls for
session ids longer than :data:`MAX_SESSION_ID`: the writer refuses them, so a
hook that printed messages for such a session could never record their
delivery, and would print them again on every turn.
"""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any

from clare.core.ids import MAX_SESSION_ID
from clare.core.record import Record

MAX_STDIN_BYTES = 4 << 20
#: Claude Code has written its JSON long before a hook process has started.
STDIN_TIMEOUT_S = 1.0
_CHUNK = 1 << 16


class HookCall(Record):
    """One hook call, as far as Clare reads it. "" or 0 = not given."""

    event: str
    session: str
    cwd: str = ""
    transcript_path: str = ""
    prompt: str = ""
    message: str = ""
    notification_type: str = ""
    source: str = ""  # SessionStart: startup, resume, clear, compact
    background_tasks: int = 0  # Stop: tasks still running in the background
    title: str = ""  # session_title, given to background sessions


def read_bounded(
    stream: Any, max_bytes: int = MAX_STDIN_BYTES, timeout_s: float = STDIN_TIMEOUT_S
) -> bytes | None:
    """All of ``stream`` up to end of file; None if it is longer or not closed in time."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        data: bytes = stream.read(max_bytes + 1)  # an in-memory stream: never blocks
        return data if len(data) <= max_bytes else None
    chunks: list[bytes] = []
    size = 0
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _running(tasks: Any) -> int:
    """How many of Stop's ``background_tasks`` still run (a list of objects or ids)."""
    if not isinstance(tasks, list):
        return 0
    done = ("completed", "failed", "killed", "stopped", "cancelled")
    return sum(
        1 for t in tasks if not (isinstance(t, dict) and str(t.get("status", "")).lower() in done)
    )


def parse_call(raw: bytes, event: str = "") -> HookCall | None:
    """The call in ``raw``; None if it is not a hook call Clare can record."""
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    event = event or _text(data, "hook_event_name", 64)
    session = data.get("session_id")
    if not isinstance(session, str) or not session or len(session) > MAX_SESSION_ID:
        return None
    return HookCall(
        event=event,
        session=session,
        cwd=_text(data, "cwd", 4096),
        transcript_path=_text(data, "transcript_path", 4096),
        prompt=_text(data, "prompt", 65_536),
        message=_text(data, "message", 300),
        notification_type=_text(data, "notification_type", 64),
        source=_text(data, "source", 64),
        background_tasks=_running(data.get("background_tasks")),
        title=_text(data, "session_title", 300),
    )
