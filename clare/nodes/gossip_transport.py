"""ZeroMQ between hosts: one CURVE ROUTER that receives, one CURVE DEALER per peer that sends.

Each direction of a link is its own TCP connection: we send to a peer only
through our DEALER connected to its ROUTER, and hear from it only on our
ROUTER. So no socket is shared between sending and receiving tasks, each
socket has exactly one owner task (as :mod:`clare.bus.zsock` requires), and
a peer that restarts simply reconnects its DEALER.

Security. Every connection is CURVE: encrypted, and each frame
authenticated. Our DEALER pins the peer's public key from ``clare.toml``, so
it only talks to the host holding the matching secret. Our ROUTER asks ZAP
about every client key; the handler answers from the :class:`AllowList` and
names the connection with the peer's name (its ZAP user id), which is how
:func:`serve_inbound` attributes each frame. ``MAXMSGSIZE`` makes libzmq drop
a connection that sends a larger frame before it is ever buffered whole.

Why a ZAP task of our own rather than ``zmq.auth``'s thread authenticator:
the handler runs in the gossip node's trio loop, so it reads the live
allow-list (peers change without a restart) and records refusals for
``clare sync status`` with no lock and no thread; and it speaks the whole
ZAP exchange (RFC 27) in twenty lines. It must be bound before the ROUTER,
since libzmq lets CURVE clients in unchecked when no handler is bound; each
gossip node therefore has its own ZeroMQ context, so two nodes in one process
(tests) each have their own ``inproc://zeromq.zap.01``.

Heartbeats (``ZMQ_HEARTBEAT_*``) find a dead TCP connection (a cable pulled,
a host gone) within seconds, so the DEALER reconnects on its own, every
``RECONNECT_IVL`` up to ``RECONNECT_IVL_MAX``. ``IMMEDIATE`` keeps a DEALER
from queueing frames for a peer it is not connected to: they are dropped,
and the protocol repairs what is lost.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus.zsock import TrioSocket
from clare.core.errors import ConfigError, ServiceUnavailable
from clare.runtime.keys import key_from_bytes
from clare.runtime.logs import get

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from clare.runtime.keys import KeyPair
    from clare.sync.peers import AllowList

log = get("clare.gossip")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_DOMAIN = b"clare"
HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 3000
RECONNECT_IVL_MS = 100
RECONNECT_IVL_MAX_MS = 2000
#: Frames queued per direction in libzmq; the protocol's windows keep far fewer in flight.
SEND_HWM = 256
RECV_HWM = 1024
#: After a failed handshake, the DEALER is made anew after this, doubling up to the max.
HANDSHAKE_RETRY_S = 0.5
HANDSHAKE_RETRY_MAX_S = 5.0
_HANDSHAKE_REASONS: dict[int, str] = {
    int(zmq.EVENT_HANDSHAKE_FAILED_AUTH): "the peer refused our key",
    int(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL): "handshake failed: the peer holds another key?",
    int(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL): "handshake failed",
}
_HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


@contextmanager
def open_context() -> Iterator[zmq.Context[Any]]:
    """A ZeroMQ context for one gossip node (its own ZAP endpoint)."""
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        yield ctx
    finally:
        ctx.destroy(linger=0)


def _socket(ctx: zmq.Context[Any], kind: int, options: dict[int, Any]) -> zmq.Socket[Any]:
    sock: zmq.Socket[Any] = ctx.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    for option, value in options.items():
        sock.setsockopt(option, value)
    return sock


def _heartbeats() -> dict[int, Any]:
    return {
        zmq.HEARTBEAT_IVL: HEARTBEAT_IVL_MS,
        zmq.HEARTBEAT_TIMEOUT: HEARTBEAT_TIMEOUT_MS,
        zmq.HEARTBEAT_TTL: HEARTBEAT_TIMEOUT_MS * 2,
    }


class _AuthenticatedSocket(TrioSocket):
    """A ROUTER whose frames are read with their ZAP user id."""

    async def recv_from(self) -> tuple[str, list[bytes]]:
        while True:
            try:
                frames = self.sock.recv_multipart(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                await self._wait(zmq.POLLIN)
                continue
            await trio.lowlevel.checkpoint()
            user = frames[-1].get("User-Id")
            return str(user or ""), [f.bytes for f in frames]


async def serve_zap(
    ctx: zmq.Context[Any],
    allow: AllowList,
    *,
    on_refused: Callable[[str, str], None] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Answer ZAP requests from ``allow`` until cancelled; ``on_refused(address, key)``."""
    sock = TrioSocket(_socket(ctx, zmq.REP, {}))
    try:
        sock.sock.bind(ZAP_ENDPOINT)
        task_status.started()
        while True:
            frames = await sock.recv()
            await sock.send(_zap_reply(frames, allow, on_refused))
    finally:
        sock.close()


def _zap_reply(
    frames: list[bytes], allow: AllowList, on_refused: Callable[[str, str], None] | None
) -> list[bytes]:
    if len(frames) < 6 or frames[0] != b"1.0":
        request_id = frames[1] if len(frames) > 1 else b""
        return [b"1.0", request_id, b"500", b"malformed ZAP request", b"", b""]
    request_id, address, mechanism = frames[1], frames[3].decode(errors="replace"), frames[5]
    if mechanism != b"CURVE" or len(frames) < 7 or len(frames[6]) != 32:
        return [b"1.0", request_id, b"400", b"CURVE required", b"", b""]
    key = key_from_bytes(frames[6])
    name, log_now = allow.admit(key, address, time.time())
    if name is None:
        if log_now:
            log.warning(
                "peer refused: key not allowed",
                address=address,
                key=key,
                unlogged_refusals=allow.take_unlogged(),
            )
        if on_refused is not None:
            on_refused(address, key)
        return [b"1.0", request_id, b"400", b"key not allowed", b"", b""]
    return [b"1.0", request_id, b"200", b"OK", name.encode(), b""]


def bind_endpoint(host: str, port: int) -> str:
    """The ZeroMQ endpoint that listens on ``host`` (an IPv6 address in brackets)."""
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


async def serve_inbound(
    ctx: zmq.Context[Any],
    port: int,
    keys: KeyPair,
    max_frame_bytes: int,
    deliver: Callable[[str, bytes], Awaitable[bytes | None]],
    *,
    host: str,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Bind the ROUTER on ``host:port`` and hand each peer frame to ``deliver(peer, frame)``.

    What ``deliver`` returns, if anything, goes back to that connection: only a
    guest's join is answered so (peers are answered on our DEALER to them).

    ``host`` is an IP address, an interface name or ``*`` (every interface).
    Start it after :func:`serve_zap`. ``task_status`` gets the bound endpoint.
    """
    options = {
        zmq.CURVE_SERVER: 1,
        zmq.CURVE_SECRETKEY: keys.secret.encode(),
        zmq.ZAP_DOMAIN: ZAP_DOMAIN,
        zmq.MAXMSGSIZE: max_frame_bytes,
        zmq.RCVHWM: RECV_HWM,
        **_heartbeats(),
    }
    if ":" in host:
        options[zmq.IPV6] = 1
    sock = _AuthenticatedSocket(_socket(ctx, zmq.ROUTER, options))
    try:
        endpoint = bind_endpoint(host, port)
        try:
            sock.sock.bind(endpoint)
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EADDRINUSE:
                raise ServiceUnavailable(f"gossip port {port} is in use") from exc
            raise ConfigError(f"cannot bind {endpoint}: {exc}") from exc
        task_status.started(endpoint)
        while True:
            peer, frames = await sock.recv_from()
            # [routing id, payload] from a peer's DEALER; anything else is not ours to read.
            if peer and len(frames) == 2:
                reply = await deliver(peer, frames[1])
                if reply is not None:
                    await sock.send([frames[0], reply])
            else:
                log.warning("inbound frame dropped", peer=peer or "?", parts=len(frames))
    finally:
        sock.close()


async def serve_outbound(
    ctx: zmq.Context[Any],
    endpoint: str,
    server_key: str,
    keys: KeyPair,
    frames: trio.MemoryReceiveChannel[bytes],
    *,
    on_refused: Callable[[str], None] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Connect a DEALER to one peer's ROUTER and send what arrives on ``frames``.

    libzmq gives up on a connection whose CURVE handshake failed (the peer
    does not allow our key yet, or holds another key than we pinned) and
    never retries it. So a socket monitor watches for that, and the DEALER is
    made anew after a backoff: a peer that adds our key later is reached
    without a restart. ``on_refused(reason)`` hears of each failed handshake.
    """
    backoff_s = HANDSHAKE_RETRY_S
    task_status.started()
    while True:
        failed = await _run_dealer(ctx, endpoint, server_key, keys, frames)
        if failed is None:
            return  # the outbox was closed: the peer was removed
        if on_refused is not None:
            on_refused(failed)
        await trio.sleep(backoff_s)
        backoff_s = min(backoff_s * 2, HANDSHAKE_RETRY_MAX_S)


async def _run_dealer(
    ctx: zmq.Context[Any],
    endpoint: str,
    server_key: str,
    keys: KeyPair,
    frames: trio.MemoryReceiveChannel[bytes],
) -> str | None:
    """Send until a handshake fails (returns why) or ``frames`` is closed (returns None)."""
    options = {
        zmq.CURVE_SERVERKEY: server_key.encode(),
        zmq.CURVE_PUBLICKEY: keys.public.encode(),
        zmq.CURVE_SECRETKEY: keys.secret.encode(),
        zmq.IMMEDIATE: 1,
        zmq.SNDHWM: SEND_HWM,
        zmq.RECONNECT_IVL: RECONNECT_IVL_MS,
        zmq.RECONNECT_IVL_MAX: RECONNECT_IVL_MAX_MS,
        **_heartbeats(),
    }
    sock = TrioSocket(_socket(ctx, zmq.DEALER, options))
    monitor = TrioSocket(sock.sock.get_monitor_socket(_HANDSHAKE_FAILED))
    failure: list[str] = []
    try:
        try:
            sock.sock.connect(endpoint)
        except zmq.ZMQError as exc:
            raise ConfigError(f"cannot connect to peer at {endpoint}: {exc}") from exc
        async with trio.open_nursery() as nursery:

            async def watch() -> None:
                parts = await monitor.recv()
                event = int.from_bytes(parts[0][:2], "little") if parts and parts[0] else 0
                failure.append(_HANDSHAKE_REASONS.get(event, f"handshake failed ({event})"))
                nursery.cancel_scope.cancel()

            async def pump() -> None:
                async for frame in frames:
                    await sock.send([frame])
                nursery.cancel_scope.cancel()

            nursery.start_soon(watch)
            nursery.start_soon(pump)
    finally:
        sock.sock.disable_monitor()
        monitor.close()
        sock.close()
    return failure[0] if failure else None
