"""The trio command client used by nodes (poller, gossip, web) to reach the writer.

Same Lazy Pirate logic as ``client.CommandClient``. The socket is owned by one
task (``serve``); callers hand it requests through a channel and wait for
their answer, so any number of tasks can send commands at once.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus import rpc
from clare.bus.sockets import make_socket
from clare.bus.zsock import TrioSocket
from clare.core.errors import ClareError, ProtocolError, ServiceUnavailable

if TYPE_CHECKING:
    from clare.domain.command import Command


class AsyncCommandClient:
    def __init__(
        self,
        endpoint: str,
        *,
        timeout_s: float = rpc.DEFAULT_TIMEOUT_S,
        attempts: int = rpc.DEFAULT_ATTEMPTS,
    ) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._lock = trio.Lock()
        self._sock: TrioSocket | None = None

    def _socket(self) -> TrioSocket:
        if self._sock is None:
            self._sock = TrioSocket(make_socket(zmq.DEALER, connect=[self.endpoint]))
        return self._sock

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self._drop()

    async def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.send(rpc.Request.new(op, args))

    async def submit(self, command: Command) -> dict[str, Any]:
        """Ask the writer to do ``command``: the typed form of ``call``."""
        return await self.send(rpc.Request.of(command))

    async def send(self, request: rpc.Request) -> dict[str, Any]:
        # One request at a time per socket: the lock makes this task the socket's
        # only user while it waits for its answer.
        async with self._lock:
            frame = request.encode()
            for _ in range(self.attempts):
                sock = self._socket()
                await sock.send([frame])
                with trio.move_on_after(self.timeout_s):
                    while True:
                        frames = await sock.recv()
                        try:
                            reply_id, outcome = rpc.parse_reply(frames[-1])
                        except ProtocolError:
                            continue
                        if reply_id != request.id:
                            continue
                        if isinstance(outcome, ClareError):
                            raise outcome
                        return outcome
                self._drop()
            raise rpc.not_running()


async def wait_until_up(client: AsyncCommandClient, timeout_s: float = math.inf) -> None:
    """Ping the writer until it answers (used by nodes that start before it)."""
    with trio.fail_after(timeout_s):
        while True:
            try:
                await client.call("ping")
                return
            except ServiceUnavailable:
                await trio.sleep(0.2)
