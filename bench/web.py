"""The web node of the main instance: overview render, event -> SSE latency, API rate.

All three run against the harness's running stack over real HTTP on
loopback, right after start-up, while the views hold what the generated
history made of them (in full mode 10,000 tasks and 1,000 sessions) and
nothing the other benchmarks added.

- Overview: ``GET /`` timed from request to the last byte of the page.
- SSE: one reader of ``/api/v1/stream``; ``task.add`` commands sent through
  the writer; each event's ``id:`` line (its seq) timed from the command's
  send, and from its answer. The SSE message can beat the answer (both
  leave right after the commit), so "after the answer" is clamped at 0.
- Rate: concurrent keep-alive clients asking ``/api/v1/status`` as fast as
  they are answered, in this process, on the same two cores as the nodes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import trio

from bench.figures import Figure, Section, at_most, median, percentile
from bench.procs import BenchError
from clare.bus.aclient import AsyncCommandClient
from clare.core.errors import ClareError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from bench.stack import Stack

READY_TIMEOUT_S = 30.0
T = TypeVar("T")


def _run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``trio.run``, with a failure inside a nursery reported as the harness's own error."""
    try:
        return trio.run(fn, *args)
    except BaseExceptionGroup as group:
        leaves = list(_leaves(group))
        if leaves and isinstance(leaves[0], BenchError | ClareError):
            raise BenchError(str(leaves[0])) from group
        raise


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def base_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.config.web_port}"


def wait_ready(stack: Stack) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(base_url=base_url(stack)) as http:
        while time.monotonic() < deadline:
            try:
                if http.get("/api/v1/status").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise BenchError(f"the web node did not answer within {READY_TIMEOUT_S:g} s")


def overview(stack: Stack, tasks: int, sessions: int, runs: int) -> Section:
    wait_ready(stack)
    times: list[float] = []
    with httpx.Client(base_url=base_url(stack), timeout=30) as http:
        http.get("/")  # templates compiled, the gossip summary cached
        for _ in range(runs):
            started = time.perf_counter()
            page = http.get("/")
            times.append((time.perf_counter() - started) * 1000)
            if page.status_code != 200:
                raise BenchError(f"GET / answered {page.status_code}")
    shown = f"{sessions:,} sessions + {tasks:,} tasks"
    return Section(
        "Overview page",
        f"""
{runs} `GET /` from one keep-alive client over loopback against the web node of the
main instance, whose views hold {shown} from the generated history; timed from the
request to the page's last byte ({len(page.content):,} bytes), after one warm-up request.
""",
        [
            Figure(f"overview page, {shown}, median", median(times), "ms", aims=(at_most(100.0),)),
            Figure(f"overview page, {shown}, p99", percentile(times, 99), "ms"),
        ],
    )


def sse(stack: Stack, count: int, pause_s: float) -> Section:
    wait_ready(stack)
    from_send, from_ack = _run(_sse, stack, count, pause_s)
    return Section(
        "Committed event to SSE message",
        f"""
One client reads `/api/v1/stream` of the main instance; {count} `task.add` commands go
to the writer, {pause_s * 1000:g} ms apart. Each event's SSE message (its `id:` is the
seq in the writer's answer) is timed from the command's send (an upper bound on commit ->
SSE, including the command's round trip) and from the answer (a lower bound, clamped at
0: the message may arrive first).
""",
        [
            Figure("committed → SSE message, p50 (from send)", percentile(from_send, 50), "ms"),
            Figure("committed → SSE message, p99 (from send)", percentile(from_send, 99), "ms"),
            Figure("committed → SSE message, p99 (from answer)", percentile(from_ack, 99), "ms"),
        ],
    )


async def _sse(stack: Stack, count: int, pause_s: float) -> tuple[list[float], list[float]]:
    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    arrived: dict[int, float] = {}
    client = AsyncCommandClient(stack.endpoints.writer_commands)
    try:
        async with (
            httpx.AsyncClient(base_url=base_url(stack), timeout=None) as http,
            http.stream("GET", "/api/v1/stream") as response,
            trio.open_nursery() as nursery,
        ):

            async def read() -> None:
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        arrived[int(line[4:])] = time.perf_counter()

            nursery.start_soon(read)
            await trio.sleep(0.2)
            for i in range(count):
                started = time.perf_counter()
                result = await client.call(
                    "task.add", {"project": "bench", "title": f"sse {i}", "author": "b@h"}
                )
                seq = int(result["events"][-1]["seq"])
                acked[seq], sent[seq] = time.perf_counter(), started
                await trio.sleep(pause_s)
            with trio.move_on_after(5):
                while not set(acked) <= set(arrived):
                    await trio.sleep(0.01)
            nursery.cancel_scope.cancel()
    finally:
        client.close()
    lost = set(acked) - set(arrived)
    if lost:
        raise BenchError(f"{len(lost)} of {count} events never reached the SSE stream")
    from_send = [(arrived[s] - sent[s]) * 1000 for s in acked]
    from_ack = [max(0.0, arrived[s] - acked[s]) * 1000 for s in acked]
    return from_send, from_ack


def status_rate(stack: Stack, seconds: float, concurrency: int) -> Section:
    wait_ready(stack)
    rate = _run(_status_rate, stack, seconds, concurrency)
    return Section(
        "`/api/v1/status` requests per second",
        f"""
{concurrency} keep-alive clients (httpx under trio, in the harness's process) request
`/api/v1/status` of the main instance back to back for {seconds:g} s over loopback;
answers with status 200 per second. The load generator shares the two cores with the
nodes, so the figure is a floor.
""",
        [Figure(f"`/api/v1/status` requests/s, {concurrency} clients", rate, "/s")],
    )


async def _status_rate(stack: Stack, seconds: float, concurrency: int) -> float:
    done = 0
    refused: list[int] = []
    deadline = trio.current_time() + seconds

    async def worker() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=base_url(stack), timeout=30) as http:
            while trio.current_time() < deadline:
                response = await http.get("/api/v1/status")
                if response.status_code != 200:
                    refused.append(response.status_code)
                    return
                done += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(concurrency):
            nursery.start_soon(worker)
    if refused:
        raise BenchError(f"/api/v1/status answered {refused[0]} under load")
    return done / (time.perf_counter() - started)
