"""pyzmq under trio: a thin adapter, the only place trio meets a ZeroMQ socket.

pyzmq speaks asyncio, not trio, so sockets are used non-blocking and we wait
on their file descriptor ourselves. Two facts decide the shape (measured, see
docs/architecture.md):

* ``sock.FD`` is edge-triggered and only ever signals "readable", for both
  directions. So before each wait we read ``sock.EVENTS`` (which also re-arms
  the edge), and we only wait when it says the operation cannot proceed.
* Exactly one trio task may use a socket. Two tasks waiting on one FD would
  make trio raise ``BusyResourceError``, and worse, one could eat the other's
  edge. Nodes hand work to a socket's owner through memory channels.

Closing calls ``trio.lowlevel.notify_closing`` first, so that no task is left
waiting on a descriptor that no longer exists.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus.sockets import make_socket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence


class TrioSocket:
    """A ZeroMQ socket used from one trio task."""

    def __init__(self, sock: zmq.Socket[Any]) -> None:
        self.sock = sock
        self._fd = int(sock.getsockopt(zmq.FD))

    async def _wait(self, flag: int) -> None:
        while not (int(self.sock.getsockopt(zmq.EVENTS)) & flag):
            await trio.lowlevel.wait_readable(self._fd)

    async def send(self, frames: Sequence[bytes]) -> None:
        while True:
            try:
                self.sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                await self._wait(zmq.POLLOUT)
                continue
            # A send can consume the edge a later receive would wait for; reading
            # EVENTS here re-arms it.
            self.sock.getsockopt(zmq.EVENTS)
            await trio.lowlevel.checkpoint()
            return

    def send_nowait(self, frames: Sequence[bytes]) -> bool:
        """Send if it can be done at once (PUB never blocks; it drops at its HWM)."""
        try:
            self.sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return False
        self.sock.getsockopt(zmq.EVENTS)
        return True

    async def recv(self) -> list[bytes]:
        while True:
            frames = self.recv_nowait()
            if frames is not None:
                await trio.lowlevel.checkpoint()
                return frames
            await self._wait(zmq.POLLIN)

    def recv_waiting(self, limit: int) -> list[list[bytes]]:
        """The messages already queued, up to ``limit`` of them, without waiting."""
        messages: list[list[bytes]] = []
        while len(messages) < limit and (frames := self.recv_nowait()) is not None:
            messages.append(frames)
        return messages

    def recv_nowait(self) -> list[bytes] | None:
        try:
            frames = self.sock.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            return None
        return frames

    def close(self, linger_ms: int = 0) -> None:
        if self.sock.closed:
            return
        trio.lowlevel.notify_closing(self._fd)
        self.sock.close(linger=linger_ms)


@asynccontextmanager
async def open_socket(
    kind: int,
    *,
    bind: str | None = None,
    connect: Sequence[str] = (),
    options: dict[int, Any] | None = None,
    linger_ms: int = 0,
) -> AsyncIterator[TrioSocket]:
    sock = TrioSocket(make_socket(kind, bind=bind, connect=connect, options=options))
    try:
        yield sock
    finally:
        sock.close(linger_ms)
        # ZeroMQ leaves an ipc socket file behind; a client finding it would wait
        # for an answer that never comes. Only the node holding the role's lock
        # binds here, so the file is ours to remove.
        if bind is not None and bind.startswith("ipc://"):
            with contextlib.suppress(OSError):
                os.unlink(bind[len("ipc://") :])
