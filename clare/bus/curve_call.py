"""One request and one reply over CURVE to another host's gossip port, blocking.

For ``clare sync join``: the new host is not yet anyone's peer, so it cannot
use the gossip node's links. It connects a DEALER of its own, pinning the
inviter's public key from the token, sends one frame and waits for the reply.
A socket monitor tells a refused handshake (the inviter's ZAP said no: it has
no open invitation, or our key was removed) from silence.
"""

from __future__ import annotations

import time
from typing import Any

import zmq

from clare.core.errors import PeerRefused, ServiceUnavailable

_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


def curve_call(
    endpoint: str, server_key: str, public: str, secret: str, frame: bytes, timeout_s: float
) -> bytes:
    """Send ``frame`` to ``endpoint`` and return the reply frame."""
    ctx: zmq.Context[Any] = zmq.Context()
    try:
        sock: zmq.Socket[Any] = ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
        sock.setsockopt(zmq.CURVE_PUBLICKEY, public.encode())
        sock.setsockopt(zmq.CURVE_SECRETKEY, secret.encode())
        monitor = sock.get_monitor_socket(_FAILED)
        try:
            sock.connect(endpoint)
        except zmq.ZMQError as exc:
            raise ServiceUnavailable(f"cannot connect to {endpoint}: {exc}") from exc
        sock.send(frame)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(monitor, zmq.POLLIN)
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            ready = dict(poller.poll(int(left * 1000)))
            if monitor in ready:
                monitor.recv_multipart()
                raise PeerRefused(
                    f"{endpoint} refused this host: the invitation is spent, expired or "
                    "was not made there, or this host was removed from the fleet"
                )
            if sock in ready:
                reply: bytes = sock.recv()
                return reply
        raise ServiceUnavailable(f"no answer from {endpoint} in {timeout_s:g} s: is it up?")
    finally:
        ctx.destroy(linger=0)
