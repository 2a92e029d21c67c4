"""Plain pyzmq sockets: the process's context and socket creation with errors mapped.

Kept apart from the trio adapter so that short-lived clients (the CLI, the
hook) can open a socket without importing trio.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import zmq

from clare.core.errors import ConfigError, ServiceUnavailable

if TYPE_CHECKING:
    from collections.abc import Sequence

_context: zmq.Context[Any] | None = None


def context() -> zmq.Context[Any]:
    """The process's one ZeroMQ context (re-made after a fork)."""
    global _context
    if _context is None or _context.closed:
        _context = zmq.Context()
    return _context


def make_socket(
    kind: int,
    *,
    bind: str | None = None,
    connect: Sequence[str] = (),
    options: dict[int, Any] | None = None,
) -> zmq.Socket[Any]:
    sock: zmq.Socket[Any] = context().socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    for option, value in (options or {}).items():
        sock.setsockopt(option, value)
    try:
        if bind is not None:
            sock.bind(bind)
        for endpoint in connect:
            sock.connect(endpoint)
    except zmq.ZMQError as exc:
        sock.close(linger=0)
        what = f"bind {bind}" if bind is not None else f"connect to {', '.join(connect)}"
        if exc.errno == zmq.EADDRINUSE:
            raise ServiceUnavailable(f"cannot {what}: the address is in use") from exc
        raise ConfigError(f"cannot {what}: {exc}") from exc
    return sock
