"""Every error Clare raises on purpose, rooted in one class.

The tree says whose fault an error is, so a caller can decide what to do
(tell the user, retry, drop a peer, file a bug) without parsing messages::

    ClareError
    ├── UsageError            the person's input is wrong (bad id, bad transition, ...)
    │   ├── NotFound          a named thing does not exist
    │   ├── Ambiguous         a prefix names several things
    │   └── InvalidTransition a task cannot move to the state asked for
    ├── ConfigError           the instance's config or home folder is missing or broken
    ├── ServiceUnavailable    a node the command needs is not running (start `clare up`)
    ├── ProtocolError         a frame or message from another process is malformed
    │   ├── FrameTooLarge     ... larger than the size limit
    │   └── PeerRefused       ... from a peer that is not allowed
    ├── StorageError          SQLite failed (disk full, read-only, corrupt)
    │   ├── DiskFull          ... for want of space: wait and retry, nothing is damaged
    │   └── DatabaseDamaged   ... because the file is corrupt or not a database
    ├── ClockError            a remote clock is too far ahead, or the local one went wrong
    └── Refused               a host would not act on a request (dispatch), or never said

Foreign exceptions (zmq, sqlite3, msgpack) are translated at the edge with
``raise ... from exc``. Anything else that escapes is a bug.
"""

from __future__ import annotations

from typing import Any


class ClareError(Exception):
    """Root of every error Clare raises on purpose."""

    #: A short machine-readable name, stable across versions; sent over the wire.
    code = "error"

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": str(self)}


class UsageError(ClareError):
    code = "usage"


class NotFound(UsageError):
    code = "not_found"


class Ambiguous(UsageError):
    code = "ambiguous"


class InvalidTransition(UsageError):
    code = "invalid_transition"


class ConfigError(ClareError):
    code = "config"


class ServiceUnavailable(ClareError):
    code = "unavailable"


class ProtocolError(ClareError):
    code = "protocol"


class FrameTooLarge(ProtocolError):
    code = "too_large"


class PeerRefused(ProtocolError):
    code = "peer_refused"


class StorageError(ClareError):
    code = "storage"


class DiskFull(StorageError):
    code = "disk_full"


class DatabaseDamaged(StorageError):
    code = "damaged"


class ClockError(ClareError):
    code = "clock"


_BY_CODE: dict[str, type[ClareError]] = {
    cls.code: cls
    for cls in (
        ClareError,
        UsageError,
        NotFound,
        Ambiguous,
        InvalidTransition,
        ConfigError,
        ServiceUnavailable,
        ProtocolError,
        FrameTooLarge,
        PeerRefused,
        StorageError,
        DiskFull,
        DatabaseDamaged,
        ClockError,
    )
}


def from_wire(payload: object) -> ClareError:
    """Rebuild an error a node sent back; unknown codes become a plain ClareError."""
    if not isinstance(payload, dict):
        return ProtocolError(f"malformed error reply: {payload!r}")
    cls = _BY_CODE.get(str(payload.get("code")), ClareError)
    return cls(str(payload.get("message", "")))


class Refused(ClareError):
    """A host refused to act on a request, or gave no answer in time: the host's call."""

    code = "refused"
