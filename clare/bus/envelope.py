"""The msgpack envelope every message on the bus travels in. Pure: bytes in, dicts out.

An envelope is a msgpack map with ``v`` (the envelope version) and ``t`` (the
message type). Decoding is defensive: a frame from another process is
untrusted input, so size, nesting and types are checked, and every failure is
a ``ProtocolError`` (never a msgpack exception).
"""

from __future__ import annotations

from typing import Any

import msgpack

from clare.core.errors import FrameTooLarge, ProtocolError

VERSION = 1
#: The largest frame a node accepts on the bus (sync batches are bounded below it).
MAX_FRAME_BYTES = 4 * 1024 * 1024

# Message types.
COMMAND = "cmd"
REPLY_OK = "ok"
REPLY_ERROR = "err"
EVENT = "ev"
VIEW = "view"
NOTICE = "note"


def encode(kind: str, fields: dict[str, Any]) -> bytes:
    data = {"v": VERSION, "t": kind, **fields}
    frame: bytes = msgpack.packb(data, use_bin_type=True)
    if len(frame) > MAX_FRAME_BYTES:
        raise FrameTooLarge(f"message is {len(frame)} bytes, over {MAX_FRAME_BYTES}")
    return frame


def decode(frame: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any]:
    if len(frame) > max_bytes:
        raise FrameTooLarge(f"frame is {len(frame)} bytes, over {max_bytes}")
    try:
        data = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except (ValueError, msgpack.UnpackException) as exc:  # ExtraData, StackError, bad UTF-8...
        raise ProtocolError(f"undecodable frame: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"frame is a {type(data).__name__}, not a map")
    if data.get("v") != VERSION:
        raise ProtocolError(f"unsupported envelope version {data.get('v')!r}")
    if not isinstance(data.get("t"), str):
        raise ProtocolError("frame has no message type")
    return data


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """A required field of a decoded envelope, of the given type."""
    value = data.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProtocolError(f"field {name!r} is missing or of the wrong type")
    return value
