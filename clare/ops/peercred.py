"""Which process listens on a Unix socket file: ask the kernel with ``SO_PEERCRED``.

A second process binding the same ``ipc://`` path silently takes it over, and
the file then leads to the newcomer. So "the socket file exists" does not say
an endpoint belongs to its node. Connecting to the file and reading the peer's
credentials does: on Linux they name the process that called ``listen()``,
which for a ZeroMQ ``bind`` is the node process itself (its I/O thread). The
connection is closed at once, before any ZeroMQ greeting; the node forgets it.
"""

from __future__ import annotations

import os
import socket
import struct

#: Whether this platform can tell (Linux can; elsewhere only the file's existence is checked).
SUPPORTED = hasattr(socket, "SO_PEERCRED")
CONNECT_TIMEOUT_S = 1.0
_UCRED = struct.Struct("3i")  # pid, uid, gid


class NobodyListens(Exception):
    """The socket file exists, but no process accepts connections on it."""


def listener_pid(socket_file: str) -> int | None:
    """The pid listening at ``socket_file``; None where the platform cannot tell.

    Raises :class:`NobodyListens` when connecting is refused (a file left behind).
    """
    if not SUPPORTED:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect(socket_file)
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise NobodyListens(socket_file) from exc
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, _uid, _gid = _UCRED.unpack(creds)
    return int(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
