"""Figures for the web node: ``python -m tests.web.bench_web``.

1. Overview render time with 1,000 sessions and 10,000 tasks (aim < 100 ms).
2. Committed event -> its SSE message, p50 and p99 (through the real writer,
   projector and web nodes, in one process).
3. Requests per second of ``/api/v1/status`` from a loopback load generator
   (bounded: a few seconds, loopback only), against ``clare serve`` in its own
   process.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import trio

from clare import hlc
from clare.bus import rpc
from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import Endpoints
from clare.config import Config
from clare.domain.events import SessionObserved
from clare.events import encode_body
from clare.nodes.projector import serve_projector
from clare.nodes.web import serve_web
from clare.nodes.writer import serve_writer
from clare.paths import resolve
from tests.web.conftest import PEER, TestClient, make_web


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def overview_render(sessions: int = 1000, tasks: int = 10_000) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="cwb-", dir="/tmp"))
    web = make_web(home)
    web.writer.publish = False
    core = web.writer.core
    core.handle_batch(
        [(b"c", rpc.Request(f"p{i}", "project.add", {"name": f"p{i}"}).encode()) for i in range(20)]
    )
    requests = [
        (b"c", rpc.Request(f"t{i}", "task.add", {"project": f"p{i % 20}", "title": f"task {i}",
                                                 "priority": i % 7}).encode())
        for i in range(tasks)
    ]  # fmt: skip
    for start in range(0, tasks, 2000):
        core.handle_batch(requests[start : start + 2000])
    now = int(time.time() * 1000)
    events = [
        [str(uuid.uuid4()), PEER, 2 + i, hlc.pack(now, 0), "SessionObserved",
         encode_body(SessionObserved(session=f"s-{i:05d}", host=PEER, name=f"agent {i}",
                                     status="busy", last_activity=now - i,
                                     tokens_in=i * 10).to_body())]
        for i in range(sessions)
    ]  # fmt: skip
    core.handle_batch([(b"c", rpc.Request("ing", "ingest", {"events": events}).encode())])
    from clare.store import eventlog

    web.writer.projection.apply(eventlog.iter_after(web.writer.projection.events, 0))
    times = []
    with web.client as client:
        assert isinstance(client, TestClient)
        client.get("/")  # warm the templates and the sync summary
        for _ in range(20):
            started = time.perf_counter()
            page = client.get("/")
            times.append((time.perf_counter() - started) * 1000)
            assert page.status_code == 200
            assert page.text.count('href="/sessions/s-') >= sessions
    web.writer.close()
    shutil.rmtree(home, ignore_errors=True)
    return {"overview_p50_ms": statistics.median(times), "overview_p99_ms": max(times)}


async def event_to_sse(count: int = 300) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="cwb-", dir="/tmp"))
    paths = resolve(home)
    config = Config(machine_id=str(uuid.uuid4()), name="bench")
    lags: list[float] = []
    async with trio.open_nursery() as stack:
        await stack.start(serve_writer, paths, config)
        await stack.start(serve_projector, paths, config)
        urls = await stack.start(functools.partial(serve_web, paths, config, port=0))
        client = AsyncCommandClient(Endpoints(paths).writer_commands)
        await client.call("project.add", {"name": "b"})
        acked: dict[int, float] = {}
        sent: dict[int, float] = {}
        arrived: dict[int, float] = {}
        async with (
            httpx.AsyncClient(base_url=urls[0], timeout=None) as http,
            http.stream("GET", "/api/v1/stream") as response,
        ):

            async def read() -> None:
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        arrived[int(line[4:])] = time.perf_counter()

            async with trio.open_nursery() as n:
                n.start_soon(read)
                await trio.sleep(0.2)
                for i in range(count):
                    sent_at = time.perf_counter()
                    result = await client.call("task.add", {"project": "b", "title": f"t{i}"})
                    acked[result["events"][0]["seq"]] = time.perf_counter()
                    sent[result["events"][0]["seq"]] = sent_at
                    await trio.sleep(0.005)
                with trio.fail_after(10):
                    while not set(acked) <= set(arrived):
                        await trio.sleep(0.01)
                n.cancel_scope.cancel()
        client.close()
        stack.cancel_scope.cancel()
    # The SSE message can beat the reply to the command: both leave the writer
    # right after its commit. So "commit -> SSE" is bounded by the larger of 0
    # and (SSE arrival - reply arrival), plus the reply's own trip.
    lags = [max(0.0, arrived[s] - acked[s]) * 1000 for s in acked]
    trips = [(arrived[s] - sent[s]) * 1000 for s in acked]
    shutil.rmtree(home, ignore_errors=True)
    return {
        "sse_after_ack_p50_ms": _pct(lags, 0.5),
        "sse_after_ack_p99_ms": _pct(lags, 0.99),
        "command_sent_to_sse_p50_ms": _pct(trips, 0.5),
        "command_sent_to_sse_p99_ms": _pct(trips, 0.99),
    }


async def status_rps(seconds: float = 5.0, concurrency: int = 16) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="cwb-", dir="/tmp"))
    env = {**os.environ, "CLARE_HOME": str(home), "CLARE_LOG_LEVEL": "WARNING"}
    port = _free_port()
    subprocess.run([sys.executable, "-m", "clare", "init", "--web-port", str(port)],
                   env=env, check=True, capture_output=True)  # fmt: skip
    up = subprocess.Popen([sys.executable, "-m", "clare", "up", "--nodes", "writer,projector,web"],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    done = 0
    try:
        with trio.fail_after(30):
            while True:
                try:
                    async with httpx.AsyncClient() as c:
                        if (await c.get(base + "/api/v1/status")).status_code == 200:
                            break
                except httpx.HTTPError:
                    pass
                await trio.sleep(0.1)
        deadline = trio.current_time() + seconds

        async def worker() -> None:
            nonlocal done
            async with httpx.AsyncClient(base_url=base) as c:
                while trio.current_time() < deadline:
                    response = await c.get("/api/v1/status")
                    assert response.status_code == 200
                    done += 1

        started = time.perf_counter()
        async with trio.open_nursery() as n:
            for _ in range(concurrency):
                n.start_soon(worker)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=15)
        shutil.rmtree(home, ignore_errors=True)
    return {"status_rps": done / elapsed, "status_concurrency": concurrency}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    figures: dict[str, Any] = {}
    figures.update(overview_render())
    figures.update(trio.run(event_to_sse))
    figures.update(trio.run(status_rps))
    print(json.dumps({k: round(v, 2) for k, v in figures.items()}, indent=1))


if __name__ == "__main__":
    main()
