"""The wire format of a Claude Code session's inbox socket (cross-session messaging).

Since 2.1.224 an interactive Claude Code listens on a Unix socket of its own and
names it in its session file (``messagingSocketPath``; ``peerProtocol`` 1). The
format, read from the 2.1.328 build and confirmed against it:

- newline-delimited JSON, one object a line, UTF-8; the sender writes its lines
  and half-closes, and Claude Code closes its side once it has read them (it
  sends nothing back on the connection);
- an optional first line ``{"type": "auth", "token": PEER_TOKEN}``; the token is
  the ``peerToken`` of the key file Claude Code writes beside its session file
  (``sessions/<pid>.<sha256 of the socket path>.key``, mode 0600). Auth is
  optional on Linux and macOS and required on Windows; a bad token with auth
  optional is ignored, so Clare always sends it when it can read the key;
- a message ``{"type": "user", "message": {"role": "user", "content": TEXT},
  "from": SENDER, "session_id": ID}``: the text goes into the session's prompt
  queue and starts a turn when the session is idle (or follows the current
  one). A ``session_id`` other than the listening session's drops the message,
  which guards against a socket path reused by another session.

The model sees the text under a line saying another session sent it. This
module only builds and reads the bytes; :mod:`clare.sessions.inbox` does the I/O.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from clare.core.errors import ProtocolError

PEER_PROTOCOL = 1
#: How Claude Code records the sender; it must match ``[A-Za-z0-9%:_/.\\-]{1,300}``.
SENDER = "clare"
#: A line longer than this is not something Clare sent or would accept.
MAX_LINE_BYTES = 1 << 20


class MalformedInboxLine(ProtocolError):
    """A line on an inbox socket is not one JSON object with a string ``type`` (the
    sender's fault)."""


@dataclass(frozen=True)
class AuthLine:
    token: str


@dataclass(frozen=True)
class UserLine:
    text: str
    sender: str = ""
    session_id: str | None = None


@dataclass(frozen=True)
class OtherLine:
    """A line of a type Clare does not send (control lines between sessions)."""

    type: str
    body: dict[str, Any]


InboxLine = AuthLine | UserLine | OtherLine


def _line(obj: dict[str, Any]) -> bytes:
    # ensure_ascii: a U+2028 in a message must not look like a line break to any reader.
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"


def encode_auth(token: str) -> bytes:
    return _line({"type": "auth", "token": token})


def encode_user(text: str, *, session_id: str | None = None, sender: str = SENDER) -> bytes:
    """One message for the session's model; ``session_id`` makes any other session drop it."""
    if not text:
        raise ValueError("an inbox message needs some text")
    obj: dict[str, Any] = {
        "type": "user",
        "message": {"role": "user", "content": text},
        "from": sender,
    }
    if session_id:
        obj["session_id"] = session_id
    return _line(obj)


def encode_delivery(text: str, *, session_id: str | None, token: str | None) -> bytes:
    """All a sender writes for one message: the auth line when there is a token, then it."""
    return (encode_auth(token) if token else b"") + encode_user(text, session_id=session_id)


def decode_line(line: bytes) -> InboxLine:
    """Parse one line (without its newline) as Claude Code would read it."""
    if len(line) > MAX_LINE_BYTES:
        raise MalformedInboxLine(f"inbox line of {len(line)} bytes is over {MAX_LINE_BYTES}")
    try:
        obj = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedInboxLine(f"inbox line is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise MalformedInboxLine("inbox line is not an object with a string type")
    if obj["type"] == "auth" and isinstance(obj.get("token"), str):
        return AuthLine(obj["token"])
    if obj["type"] == "user":
        message = obj.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content:
            raise MalformedInboxLine("inbox user line has no string content")
        sender = obj.get("from")
        session_id = obj.get("session_id")
        return UserLine(
            content,
            sender if isinstance(sender, str) else "",
            session_id if isinstance(session_id, str) else None,
        )
    return OtherLine(obj["type"], obj)


class LineDecoder:
    """Bytes in, lines out, for a stream read in pieces (as the socket's server reads it)."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> list[InboxLine]:
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            raise MalformedInboxLine(f"inbox line over {MAX_LINE_BYTES} bytes")
        return [decode_line(line) for line in lines if line.strip()]

    def close(self) -> list[InboxLine]:
        """The last line, if the stream ended without its newline."""
        rest, self._buffer = self._buffer, b""
        return [decode_line(rest)] if rest.strip() else []


def key_file_name(pid: int, socket_path: str) -> str:
    """The name of the key file beside the session file, for the socket ``socket_path``."""
    return f"{pid}.{hashlib.sha256(socket_path.encode()).hexdigest()}.key"


def parse_key_file(data: bytes) -> str | None:
    """The peer token in a key file, or None when it holds none."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    token = obj.get("peerToken") if isinstance(obj, dict) else None
    return token if isinstance(token, str) and token else None
