from __future__ import annotations

import functools

import trio
import zmq

from clare.nodes import gossip_transport as transport
from clare.runtime.config import Peer
from clare.runtime.keys import KeyPair
from clare.sync.peers import AllowList
from tests.sync.tcpproxy import free_port


def pair() -> KeyPair:
    public, secret = zmq.curve_keypair()
    return KeyPair(public.decode(), secret.decode())


async def run_link(
    client_keys: KeyPair, allowed: AllowList, frames: list[bytes], max_frame_bytes: int = 1024
) -> list[tuple[str, bytes]]:
    server_keys = pair()
    port = free_port()
    got: list[tuple[str, bytes]] = []

    async def deliver(peer: str, frame: bytes) -> None:
        got.append((peer, frame))

    with transport.open_context() as server_ctx, transport.open_context() as client_ctx:
        async with trio.open_nursery() as nursery:
            await nursery.start(transport.serve_zap, server_ctx, allowed)
            await nursery.start(
                functools.partial(transport.serve_inbound, host="127.0.0.1"),
                server_ctx,
                port,
                server_keys,
                max_frame_bytes,
                deliver,
            )
            send, receive = trio.open_memory_channel[bytes](16)
            await nursery.start(
                transport.serve_outbound,
                client_ctx,
                f"tcp://127.0.0.1:{port}",
                server_keys.public,
                client_keys,
                receive,
            )
            for frame in frames:
                await send.send(frame)
                await trio.sleep(0.3)
            nursery.cancel_scope.cancel()
    return got


async def test_frames_from_an_allowed_key_arrive_named_by_the_peer() -> None:
    client = pair()
    got = await run_link(client, AllowList([Peer("laptop", "tcp://x:1", client.public)]), [b"hi"])
    assert got == [("laptop", b"hi")]


async def test_frames_from_an_unknown_key_never_arrive_and_the_refusal_is_kept() -> None:
    allowed = AllowList([Peer("laptop", "tcp://x:1", pair().public)])
    client = pair()
    assert await run_link(client, allowed, [b"hi", b"again"]) == []
    (refusal,) = allowed.refusals.values()
    assert (refusal.address, refusal.key) == ("127.0.0.1", client.public)


async def test_an_oversized_frame_is_refused_and_the_link_recovers() -> None:
    client = pair()
    allowed = AllowList([Peer("laptop", "tcp://x:1", client.public)])
    got = await run_link(client, allowed, [b"x" * 5000, b"small"], max_frame_bytes=1024)
    assert got == [("laptop", b"small")]


def test_zap_answers_malformed_and_non_curve_requests_with_a_refusal() -> None:
    allowed = AllowList()
    assert transport._zap_reply([b"2.0", b"r"], allowed, None)[2] == b"500"
    plain = [b"1.0", b"r", b"clare", b"10.0.0.9", b"", b"PLAIN", b"user", b"pw"]
    assert transport._zap_reply(plain, allowed, None)[2] == b"400"
    assert allowed.refusals == {}
