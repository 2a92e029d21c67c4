"""From an acknowledged command to its event being visible in the views.

The harness subscribes to the projector's PUB, whose notices carry the views'
position after each commit of the views DB. For each command it takes the
seq of the event in the writer's answer and waits for a notice at or past
it: from then on every reader of the views sees the event.

Two figures bound the true "committed -> visible" time: from the send (an
upper bound: it includes the command's own round trip) and from the answer
(a lower bound: the commit happened a little before the answer arrived). The
aim is judged on the upper bound.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import zmq

from bench.figures import Figure, Section, at_most, percentile
from bench.procs import BenchError
from clare.bus import envelope
from clare.bus.endpoints import PROJECTOR_VIEWS
from clare.core.errors import ProtocolError

if TYPE_CHECKING:
    from bench.stack import Stack

NOTICE_TIMEOUT_S = 5.0
SLOW_JOINER_S = 0.3


def _wait_position(sub: zmq.Socket[Any], seq: int) -> None:
    deadline = time.monotonic() + NOTICE_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        if not sub.poll(int(left * 1000) + 1, zmq.POLLIN):
            break
        *_, frame = sub.recv_multipart()
        try:
            position = envelope.decode(frame).get("position")
        except ProtocolError:
            continue
        if isinstance(position, int) and position >= seq:
            return
    raise BenchError(f"no view notice reached seq {seq} within {NOTICE_TIMEOUT_S:g} s")


def visibility(stack: Stack, count: int, pause_s: float) -> Section:
    sub: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"view")
    sub.connect(stack.endpoints.ipc(PROJECTOR_VIEWS))
    from_send: list[float] = []
    from_ack: list[float] = []
    try:
        time.sleep(SLOW_JOINER_S)  # a SUB misses what is published before it is connected
        with stack.command_client() as client:
            client.call("ping")
            for i in range(count):
                sent = time.perf_counter()
                result = client.call(
                    "task.add", {"project": "bench", "title": f"visible {i}", "author": "b@h"}
                )
                acked = time.perf_counter()
                _wait_position(sub, int(result["events"][-1]["seq"]))
                seen = time.perf_counter()
                from_send.append((seen - sent) * 1000)
                from_ack.append((seen - acked) * 1000)
                # Spread the commands out: a lone command is the common case, and
                # back-to-back ones would measure the projector's batching instead.
                time.sleep(pause_s)
    finally:
        sub.close(linger=0)
    figures = [
        Figure(
            "committed → visible in views, p99 (from send)",
            percentile(from_send, 99),
            "ms",
            aims=(at_most(20.0),),
        ),
        Figure("committed → visible in views, p50 (from send)", percentile(from_send, 50), "ms"),
        Figure("committed → visible in views, p99 (from answer)", percentile(from_ack, 99), "ms"),
    ]
    return Section(
        "Committed to visible in the views",
        f"""
{count} `task.add` commands from one client, {pause_s * 1000:g} ms apart. For each, the
time until the projector's PUB announces a views position at or past the event's seq
(the views DB has committed it by then). "From send" includes the command's round trip
and bounds the true figure from above; "from answer" bounds it from below.
""",
        figures,
    )
