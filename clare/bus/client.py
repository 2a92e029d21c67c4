"""The blocking command client used by the CLI and the hook.

Blocking pyzmq, not trio: a short-lived command pays for every import, and
this path must start fast. It follows the Lazy Pirate pattern: on a timeout
it throws the socket away (a DEALER would otherwise deliver the late reply to
the next request), opens a new one and sends the same request again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import zmq

from clare.bus import rpc
from clare.bus.sockets import make_socket
from clare.core.errors import ClareError, ProtocolError
from clare.runtime.lock import may_answer

if TYPE_CHECKING:
    from pathlib import Path


class CommandClient:
    def __init__(
        self,
        endpoint: str,
        socket_file: str | None = None,
        *,
        lock_file: Path | None = None,
        timeout_s: float = rpc.DEFAULT_TIMEOUT_S,
        attempts: int = rpc.DEFAULT_ATTEMPTS,
    ) -> None:
        self.endpoint = endpoint
        self.socket_file = socket_file
        self.lock_file = lock_file
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._sock: zmq.Socket[Any] | None = None

    def _socket(self) -> zmq.Socket[Any]:
        if self._sock is None:
            self._sock = make_socket(zmq.DEALER, connect=[self.endpoint])
        return self._sock

    def _drop_socket(self) -> None:
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None

    def close(self) -> None:
        self._drop_socket()

    def __enter__(self) -> CommandClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command and return the writer's result, or raise its error."""
        return self.send(rpc.Request.new(op, args))

    def send(self, request: rpc.Request) -> dict[str, Any]:
        """Send a request and return its result, or raise its error (or that none answered)."""
        outcome = self.reply_to(request)
        if outcome is None:
            raise rpc.not_running()
        if isinstance(outcome, ClareError):
            raise outcome
        return outcome

    def reply_to(self, request: rpc.Request) -> dict[str, Any] | ClareError | None:
        """The reply to ``request``: its result or its error, or None if nobody answered.

        The error is returned, not raised, for a caller (the hook) that tells a
        refused command from one to try again later.
        """
        if not may_answer(self.socket_file, self.lock_file):
            return None
        frame = request.encode()
        for _ in range(self.attempts):
            sock = self._socket()
            sock.send(frame)
            deadline = time.monotonic() + self.timeout_s
            while (left := deadline - time.monotonic()) > 0:
                if not sock.poll(int(left * 1000) + 1, zmq.POLLIN):
                    break
                try:
                    reply_id, outcome = rpc.parse_reply(sock.recv())
                except ProtocolError:
                    continue  # garbage on our own socket: keep waiting for the real reply
                if reply_id != request.id:
                    continue  # a late answer to an earlier request
                return outcome
            self._drop_socket()
        return None
