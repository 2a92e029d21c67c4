"""A fault-injecting TCP proxy for sync tests: forward, cut, heal, slow down.

It stands between two gossip nodes (a peer's endpoint names the proxy). While
*cut*, live connections are closed and new ones are accepted and held
silently, so the node sees a dead link (as with a pulled cable) rather than
a refusal it could act on at once. ``delay_s`` holds each chunk that long.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import trio


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TcpProxy:
    target_port: int
    port: int = field(default_factory=free_port)
    delay_s: float = 0.0
    connections: int = 0
    bytes_forwarded: int = 0
    cut_off: bool = False
    _scopes: set[trio.CancelScope] = field(default_factory=set)

    def cut(self) -> None:
        """Drop every live connection, and hold new ones without forwarding."""
        self.cut_off = True
        for scope in list(self._scopes):
            scope.cancel()

    def heal(self) -> None:
        self.cut_off = False

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, client: trio.SocketStream) -> None:
        self.connections += 1
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                if self.cut_off:
                    await self._swallow(client)
                    return
                try:
                    upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
                except OSError:
                    return
                async with upstream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._pump, client, upstream, nursery.cancel_scope)
                    nursery.start_soon(self._pump, upstream, client, nursery.cancel_scope)
            finally:
                self._scopes.discard(scope)
        await client.aclose()

    async def _swallow(self, client: trio.SocketStream) -> None:
        while self.cut_off:
            with trio.move_on_after(0.2):
                if not await client.receive_some(65536):
                    return

    async def _pump(
        self, source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
    ) -> None:
        try:
            while data := await source.receive_some(65536):
                if self.delay_s:
                    await trio.sleep(self.delay_s)
                self.bytes_forwarded += len(data)
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()
