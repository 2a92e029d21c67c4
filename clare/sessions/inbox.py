"""Handing a message to a session through Claude Code's inbox socket, and seeing it queued.

The session file names the socket; the key file beside it holds the token (see
:mod:`clare.sessions.inbox_wire`). Sending is a blocking Unix-socket write under
a short timeout: the CLI calls it, and a session that does not answer must not
hold the command up. Claude Code sends nothing back, so the end of the stream
(it closes its side once it read the lines) says only that the lines were read;
delivery is confirmed, as for tmux, when the session's transcript records the
message (a ``queue-operation`` enqueue, or the ``user`` line of the turn it
started) holding the message's id.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.core.errors import ServiceUnavailable
from clare.sessions.claude_home import sessions_dir
from clare.sessions.inbox_wire import encode_delivery, key_file_name, parse_key_file
from clare.sessions.session_file import (
    Liveness,
    MalformedSessionFile,
    ProcessProbe,
    check_liveness,
    read_session_file,
)
from clare.sessions.transcript_wait import transcript_end, wait_for

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SEND_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Inbox:
    """A live session's inbox: where to connect, and the token if its key file is readable."""

    session_id: str
    pid: int
    socket_path: str
    token: str | None
    status: str


def find_inbox(claude: Path, session_id: str, probe: ProcessProbe | None = None) -> Inbox | None:
    """The inbox of the live process running ``session_id``, or None if it has none."""
    folder = sessions_dir(claude)
    try:
        candidates = sorted(folder.glob("*.json"))
    except OSError:
        return None
    for path in candidates:
        try:
            session = read_session_file(path)
        except (OSError, MalformedSessionFile):
            continue
        if session.session_id != session_id or not session.messaging_socket_path:
            continue
        if check_liveness(session, probe) is not Liveness.LIVE:
            continue
        socket_path = session.messaging_socket_path
        try:
            token = parse_key_file((folder / key_file_name(session.pid, socket_path)).read_bytes())
        except OSError:
            token = None  # auth is optional where Unix sockets carry the peer's pid
        return Inbox(session_id, session.pid, socket_path, token, session.status)
    return None


def send_to_inbox(inbox: Inbox, text: str, *, timeout_s: float = SEND_TIMEOUT_S) -> None:
    """Write one message to the socket and wait for Claude Code to have read it.

    Raises :class:`ServiceUnavailable` when the socket is gone, refuses, or does
    not read the message within ``timeout_s``.
    """
    payload = encode_delivery(text, session_id=inbox.session_id, token=inbox.token)
    deadline = time.monotonic() + timeout_s
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout_s)
            sock.connect(inbox.socket_path)
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                if not sock.recv(4096):
                    return  # Claude Code read the lines and closed its side
            raise TimeoutError("no end of stream")
    except (OSError, TimeoutError) as exc:
        raise ServiceUnavailable(
            f"session {inbox.session_id[:8]}'s inbox {inbox.socket_path} did not take "
            f"the message: {exc}"
        ) from exc


def _holds(record: object, needle: str) -> bool:
    if not isinstance(record, dict):
        return False
    if record.get("type") == "queue-operation" and record.get("operation") == "enqueue":
        content = record.get("content")
        return isinstance(content, str) and needle in content
    if record.get("type") == "user":
        message = record.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return isinstance(content, str) and needle in content
    return False


def wait_for_queued(
    path: Path,
    needle: str,
    *,
    offset: int,
    timeout_s: float,
    poll_s: float = 0.05,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether ``path`` records, past ``offset``, a queued message holding ``needle`` in time."""
    partial = b""

    def found(data: bytes) -> bool:
        nonlocal partial
        *lines, partial = (partial + data).split(b"\n")
        for line in lines:
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError, RecursionError):
                continue
            if _holds(record, needle):
                return True
        return False

    return wait_for(
        path, found, offset=offset, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep
    )


def deliver_to_inbox(
    inbox: Inbox,
    transcript: Path,
    text: str,
    needle: str,
    *,
    timeout_s: float = 5.0,
    send: Callable[[Inbox, str], None] | None = None,
) -> bool:
    """Send ``text`` to ``inbox`` and wait for ``needle`` to be queued in ``transcript``."""
    start = transcript_end(transcript)
    (send or send_to_inbox)(inbox, text)
    return wait_for_queued(transcript, needle, offset=start, timeout_s=timeout_s)
