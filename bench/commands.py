"""Acknowledged commands: one client's latency, and sixteen clients' throughput.

Both drive the running writer through ``CommandClient``, the blocking client
the CLI and the hook use, with ``task.add`` (a decision, an event and the
idempotency record, all committed with ``synchronous=FULL`` before the
answer). Each sits beside raw SQLite on the same disk, measured just before.

Sixteen clients are sixteen threads, each with its own DEALER socket: a
client spends nearly all its time waiting in ``poll``, which releases the
GIL, so threads load the writer as separate processes would, without paying
for sixteen interpreters on a two-core machine.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING

from bench import rawsql, rawzmq
from bench.figures import Aim, Figure, Section, percentile, share_of, within
from bench.procs import BenchError, cpu_seconds

if TYPE_CHECKING:
    from pathlib import Path

    from bench.stack import Stack

RAW_SINGLE = "raw SQLite insert, own fsync'd transaction"
RAW_FLOOR = "raw pyzmq round trip to a process doing that insert"


def _task_args(title: str) -> dict[str, object]:
    return {"project": "bench", "title": title, "author": "bench@host"}


def latency(stack: Stack, scratch: Path, count: int) -> Section:
    raw = rawsql.insert_latencies_ms(scratch / "raw-latency.db", count)
    samples: list[float] = []
    with stack.command_client() as client:
        client.call("task.add", _task_args("warm-up"))  # connects, loads the project
        for i in range(count):
            started = time.perf_counter()
            client.call("task.add", _task_args(f"latency {i}"))
            samples.append((time.perf_counter() - started) * 1000)
    echo = rawzmq.round_trips_ms(scratch, count, insert=False)
    floor = rawzmq.round_trips_ms(scratch, count, insert=True)
    figures = [
        *_p50_p99("acknowledged command, 1 client", samples, raw, RAW_SINGLE, aims=(within(2.0),)),
        *_p50_p99(
            "acknowledged command, 1 client",
            samples,
            floor,
            RAW_FLOOR,
            suffix=", vs the process-boundary floor",
            aims=(within(2.0),),
            note="what the same insert costs behind any process boundary",
        ),
        *_p50_p99(
            RAW_FLOOR,
            floor,
            raw,
            RAW_SINGLE,
            note="context: the floor's own ratio to the aim's baseline",
        ),
        *_p50_p99(
            "raw pyzmq round trip, nothing done",
            echo,
            raw,
            RAW_SINGLE,
            note="context: the hop alone",
        ),
    ]
    return Section(
        "Acknowledged command latency, one client",
        f"""
{count} `task.add` commands in a row from one `CommandClient`, each timed from send
to the writer's answer (committed with `synchronous=FULL`). Baseline: {count} single-row
INSERTs, each in its own transaction, into an empty events DB with Clare's schema and
pragmas (WAL, `synchronous=FULL`) on the same disk. (Into a copy of a million-event DB,
single-row commits measured the same here: the fsync dominates them.) Context rows give
the floor for any writer in a process of its own: a blocking pyzmq ROUTER in a child
process, with no trio and no Clare, that commits the same single-row insert before each
answer to a DEALER over `ipc://`; and the same round trip with nothing done.
""",
        figures,
    )


def _p50_p99(
    name: str,
    samples: list[float],
    baseline: list[float],
    baseline_name: str,
    *,
    suffix: str = "",
    aims: tuple[Aim, ...] = (),
    note: str = "",
) -> list[Figure]:
    """Median and p99 of latencies in ms, each beside the same percentile of ``baseline``."""
    return [
        Figure(
            f"{name}, p{p}{suffix}",
            percentile(samples, p),
            "ms",
            percentile(baseline, p),
            baseline_name,
            aims,
            note,
        )
        for p in (50, 99)
    ]


def throughput(stack: Stack, scratch: Path, clients: int, seconds: float) -> Section:
    # Beside the instance's own data: the same DB, copied, so raw inserts pay the
    # same index depth and random pages as the writer does.
    copy = rawsql.copy_of(stack.paths.events_db, scratch / "raw-batch-like.db")
    try:
        raw = rawsql.batched_insert_rate(copy, clients, seconds)
    finally:
        for leftover in scratch.glob("raw-batch-like.db*"):
            leftover.unlink()
    raw_empty = rawsql.batched_insert_rate(scratch / "raw-batch.db", clients, seconds)
    raw_big = rawsql.batched_insert_rate(scratch / "raw-batch-big.db", 1000, seconds)
    pids = stack.node_pids()
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    commits_before = _writer_counters(stack)
    client_cpu = time.process_time()
    rate, answered = _drive(stack, clients, seconds)
    client_cpu = time.process_time() - client_cpu
    commits_after = _writer_counters(stack)
    figures = [
        Figure(
            f"acknowledged commands/s, {clients} clients",
            rate,
            "/s",
            raw,
            f"raw SQLite, {clients} rows per fsync'd transaction, into a copy of the instance's DB",
            (share_of(0.4),),
        ),
        Figure(
            f"acknowledged commands/s, {clients} clients, vs an empty DB",
            rate,
            "/s",
            raw_empty,
            f"raw SQLite, {clients} rows per fsync'd transaction, into an empty DB",
            note="context: the baseline before it was made like for like",
        ),
        Figure(
            f"acknowledged commands/s, {clients} clients, vs 1,000-row batches",
            rate,
            "/s",
            raw_big,
            "raw SQLite, 1,000 rows per fsync'd transaction, into an empty DB",
            note="context only: no writer can group more commands than there are clients",
        ),
    ]
    if answered:
        figures.append(
            Figure(
                f"client threads CPU per command ({clients} clients, one process)",
                client_cpu / answered * 1e6,
                "µs",
            )
        )
    commands, commits = (a - b for a, b in zip(commits_after, commits_before, strict=True))
    if commits:
        figures.append(
            Figure(
                f"commands per group commit, {clients} clients, mean",
                commands / commits,
                "",
                note=f"at most {clients}: one transaction and one fsync per group",
            )
        )
    for name, pid in sorted(pids.items()):
        start, end = before[name], cpu_seconds(pid)
        if start is not None and end is not None and answered and name != "up":
            figures.append(
                Figure(
                    f"{name} CPU per command under {clients} clients",
                    (end - start) / answered * 1e6,
                    "µs",
                    note="where the time goes: the writer's share bounds the rate on its own",
                )
            )
    return Section(
        f"Acknowledged commands per second, {clients} clients",
        f"""
{clients} threads, each with its own `CommandClient` (a DEALER socket), send `task.add`
back to back for {seconds:g} s; the figure is answers received per second. The writer
commits whatever is queued in one transaction (group commit), so at most {clients}
commands share an fsync. Baseline: raw SQLite inserts of `TaskCreated` rows with random
task ids (as `task.add` makes them), {clients} rows per fsync'd transaction (the best any
group commit of {clients} waiting clients could do), for the same time on the same disk,
into a copy of the instance's own events DB: with a million events, each insert touches
pages of deeper random uuid and entity indexes than an empty DB has. Context rows give
the same into an empty DB (the baseline of earlier runs), and 1,000-row transactions.
CPU per command is each process's user + system time over the window (from /proc),
divided by the commands answered: on two cores, the clients, the writer and every node
that reacts to the new events share them.
""",
        figures,
    )


def _writer_counters(stack: Stack) -> tuple[int, int]:
    """(commands answered, transactions committed) so far, from the writer's ping."""
    with stack.command_client() as client:
        status = client.call("ping")
    return int(status["commands"]), int(status["commits"])


def _drive(stack: Stack, clients: int, seconds: float) -> tuple[float, int]:
    """(answers per second, answers) of ``clients`` threads sending for ``seconds``."""
    counts = [0] * clients
    errors: list[BaseException] = []
    window = [0.0, 0.0]  # start and end, set once every client is connected

    def open_window() -> None:
        window[0] = time.perf_counter()
        window[1] = window[0] + seconds

    start = threading.Barrier(clients + 1, action=open_window)

    def client_loop(index: int) -> None:
        try:
            with stack.command_client() as client:
                client.call("ping")  # connect before the clock starts
                start.wait()
                n = 0
                while time.perf_counter() < window[1]:
                    client.call("task.add", _task_args(f"load {index}.{n}"))
                    n += 1
                counts[index] = n
        except BaseException as exc:  # reported below: a lost client voids the figure
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - window[0]
    if errors:
        raise BenchError(f"a client failed under load: {errors[0]!r}")
    return sum(counts) / elapsed, sum(counts)
