"""Many clients at once while the web page streams and a peer syncs.

50 clients send 100,000 commands in the long mode (CI: 20 clients, 2,000).
Meanwhile an SSE client holds the web page's event stream open and b syncs
everything from a. Afterwards: every acknowledged command is stored exactly
once on a and held by b, the stream saw events, each node's resident memory
stayed bounded (sampled every half second), and the latency is recorded.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from clare.runtime import config as config_mod
from tests.reliability.harness import (
    NODES,
    Load,
    percentiles_ms,
    rss_kb,
    stored_events,
    wait_converged,
)

if TYPE_CHECKING:
    from tests.reliability.harness import Pair

pytestmark = pytest.mark.slow

#: A node that grows past this under load is leaking: figures in docs/reliability.md.
MAX_RSS_KB = 400_000


def test_many_clients_with_the_stream_open_and_a_peer_syncing(
    pair: Pair, long_mode: bool, figures: dict[str, Any]
) -> None:
    a = pair.a
    clients, total = (50, 100_000) if long_mode else (20, 2_000)
    port = config_mod.load(a.paths).web_port
    stop = threading.Event()
    streamed = [0]
    samples: dict[str, list[int]] = {name: [] for name in NODES}

    def stream() -> None:
        headers = {"Accept": "text/event-stream"}
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as web,
                web.stream(
                    "GET", f"http://127.0.0.1:{port}/api/v1/stream", headers=headers
                ) as response,
            ):
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        streamed[0] += 1
                    if stop.is_set():
                        return
        except httpx.HTTPError:
            return

    def sample() -> None:
        while not stop.is_set():
            for name in NODES:
                samples[name].append(rss_kb(a.node_pid(name)))
            time.sleep(0.5)

    helpers = [threading.Thread(target=f, daemon=True) for f in (stream, sample)]
    for helper in helpers:
        helper.start()
    load = Load(a, "pa", clients, "load", limit=total // clients)
    started = time.perf_counter()
    load.start().wait()
    elapsed = time.perf_counter() - started
    load.check_exactly_once()
    assert len(load.acked) == total
    assert load.gave_up == 0
    wait_converged(pair.stacks(), 120)
    held = {e.id for e in stored_events(pair.b)}
    assert set(load.acked.values()) <= held
    stop.set()
    for helper in helpers:
        helper.join(timeout=10)
    assert streamed[0] > 0, "the web page's stream saw no event"
    peak = {name: max(s, default=0) for name, s in samples.items()}
    assert all(0 < kb < MAX_RSS_KB for kb in peak.values()), peak
    figures["load"] = {
        "clients": clients,
        "commands": total,
        "seconds": round(elapsed, 1),
        "commands_per_s": round(total / elapsed),
        "latency_ms": percentiles_ms(load.latencies_s),
        "stream_events": streamed[0],
        "peak_rss_kb": peak,
        "first_rss_kb": {name: s[0] for name, s in samples.items() if s},
    }
