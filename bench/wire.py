"""A TCP proxy on loopback that counts the bytes it forwards: what sync puts on the wire.

The gossip node keeps counts of events, not of bytes, so the harness points
each peer at one of these instead of at the other host, and reads the bytes
that went through (both directions, CURVE framing and heartbeats included).
Plain threads and blocking sockets: two per connection, a few connections
per proxy, and no event loop shared with what is being measured.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import TracebackType

CHUNK_BYTES = 256 * 1024


class CountingProxy:
    """Forwards 127.0.0.1:``port`` to 127.0.0.1:``target_port``, counting bytes."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._bytes = 0
        self._sockets: list[socket.socket] = []
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._accepting.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def bytes_forwarded(self) -> int:
        with self._lock:
            return self._bytes

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        # shutdown() wakes a thread blocked in accept() or recv(); close() alone may not.
        for sock in (self._listener, *sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._accepting.join(timeout=2)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()  # the target is down: the peer sees a refused link and retries
                continue
            with self._lock:
                if self._closed:
                    client.close()
                    upstream.close()
                    return
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        buffer = bytearray(CHUNK_BYTES)
        view = memoryview(buffer)
        try:
            while n := src.recv_into(buffer):
                dst.sendall(view[:n])
                with self._lock:
                    self._bytes += n
        except OSError:
            pass
        finally:
            # Half-close so the other direction sees the end too.
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
