"""A peer that holds an allowed CURVE key and sends garbage, forgeries and lies.

The gossip port of host a gets: undecodable frames, deeply nested msgpack,
messages with wrong field types, events that claim to be a's own, events from
an origin far ahead of anything known (origin_seq 10^12), events stamped far in
the future, and unsolicited batches. Then a stranger without an allowed key,
and raw bytes that are not ZeroMQ at all. Nothing is written (but the relayed
event above a gap the trust model allows), no node dies, and a and b still
sync afterwards.
"""

from __future__ import annotations

import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
import zmq

from clare.core import hlc
from clare.core.events import Event, encode_body
from clare.runtime import config as config_mod
from clare.sync import messages
from tests.reliability.harness import event_count, node_pids, stored_events, wait_converged

if TYPE_CHECKING:
    from tests.integration.stack import Stack
    from tests.reliability.harness import Pair

pytestmark = pytest.mark.slow


def _event(origin: str, origin_seq: int, stamp: int, **body: Any) -> Event:
    data = {"task": f"t-{uuid.uuid4().hex[:8]}", "project": "pa", "title": "forged", **body}
    return Event(0, str(uuid.uuid4()), origin, origin_seq, stamp, "TaskCreated", encode_body(data))


def _frames(victim: str) -> tuple[list[bytes], list[Event]]:
    now_ms = int(time.time() * 1000)
    now, future = hlc.pack(now_ms, 0), hlc.pack(now_ms + 3_600_000, 0)
    v = messages.PROTOCOL_VERSION
    forged = [
        _event(victim, 1, now),  # a's own first slot, taken by a's real event
        _event(victim, 10**9, now),  # a's own origin, a slot a never filled
        _event("ghost", 10**12, now),  # an unknown origin, far ahead
        _event("ghost", 1, future),  # an hour in the future
    ]
    frames = [messages.encode(messages.Push(tuple(forged)))]
    frames += [messages.encode(messages.Push((e,))) for e in forged]
    frames.append(messages.encode(messages.Batch(77, tuple(forged), False)))
    frames += [
        b"",
        b"\xff\xfe\xfd",
        b"\x91" * 200_000 + b"\xc0",
        msgpack.packb({"v": v, "t": "push", "events": [[1, 2, 3, 4, 5, 6]]}),
        msgpack.packb({"v": v, "t": "push", "events": "nope"}),
        msgpack.packb({"v": v, "t": "hello", "node": 5, "vector": {"x": "y"}}),
        msgpack.packb({"v": v, "t": "hello", "node": "evil", "vector": {victim: 2**62}}),
        msgpack.packb({"v": v, "t": "request", "id": -1, "ranges": [[1, 2, 3]]}),
        msgpack.packb({"v": 99, "t": "hello"}),
        msgpack.packb({"v": v, "t": "batch", "id": 1, "events": [], "more": "yes"}),
        msgpack.packb({"v": v, "t": "hello", "node": "\udcff".encode("utf-8", "surrogatepass")}),
    ]
    return frames, forged


def _dealer(ctx: zmq.Context[Any], port: int, server_key: str, keys: tuple[bytes, bytes]) -> Any:
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key.encode())
    sock.setsockopt(zmq.CURVE_PUBLICKEY, keys[0])
    sock.setsockopt(zmq.CURVE_SECRETKEY, keys[1])
    sock.connect(f"tcp://127.0.0.1:{port}")
    return sock


def test_a_keyed_peer_sending_garbage_and_forgeries_writes_nothing(
    pair: Pair, figures: dict[str, Any]
) -> None:
    a: Stack = pair.a
    wait_converged(pair.stacks(), 30)
    config = config_mod.load(a.paths)
    public, secret = zmq.curve_keypair()
    a.clare("sync", "peer", "add", "evil", "tcp://127.0.0.1:9", "--key", public.decode())
    server_key = a.clare("keys", "show").stdout.strip()
    pids, before = node_pids(a), event_count(a)
    ctx = zmq.Context.instance()
    frames, forged = _frames(config.machine_id)
    honest = {config.machine_id, config_mod.load(pair.b.paths).machine_id}
    sock = _dealer(ctx, config.gossip_port, server_key, (public, secret))
    try:
        for frame in frames:
            sock.send(frame)
        # The stranger: a key a never allowed.
        stranger = _dealer(ctx, config.gossip_port, server_key, zmq.curve_keypair())
        for frame in frames[:6]:
            stranger.send(frame)
        time.sleep(2.0)
        stranger.close()
    finally:
        sock.close()
    raw = socket.create_connection(("127.0.0.1", config.gossip_port))
    raw.sendall(b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)) * 16)
    raw.close()
    time.sleep(0.5)
    new = stored_events(a)[before:]
    # By design an allowed peer may relay events of any origin (docs/sync-protocol.md,
    # "the allow-list is the trust boundary"): the one above a gap is kept there, and
    # must not raise the vector. Everything else (a's own origin, a stamp an hour
    # ahead, every malformed frame) is refused. The honest hosts go on writing
    # meanwhile (their pollers observe sessions), so those events are not the attack's.
    forged_ids = {e.id: (e.origin, e.origin_seq) for e in forged}
    kept = [forged_ids[e.id] for e in new if e.id in forged_ids]
    assert kept in ([], [("ghost", 10**12)]), kept
    strays = [(e.origin, e.origin_seq, e.kind) for e in new if e.id not in forged_ids]
    assert all(origin in honest and seq < 10**9 for origin, seq, _ in strays), strays
    assert "ghost" not in a.json("sync", "status").get("vector", {})
    assert node_pids(a) == pids
    status = a.json("sync", "status")
    assert status["refused"], "the stranger's key is not reported"
    # Sync between the honest hosts still works.
    a.clare("sync", "peer", "remove", "evil")
    pair.b.clare("task", "add", "after the attack", "-p", "pb")
    wait_converged(pair.stacks(), 30)
    figures["bad_peers"] = {"frames": len(frames), "stranger_frames": 6}
