"""Sync between real instances on loopback: catch-up, propagation, bytes on the wire.

- Catch-up: an empty host joins the harness's main instance (which holds the
  generated history) as a peer: `clare sync peer add` on both sides, then
  `clare up` on the joiner. The figure is events per second until the
  joiner's gossip status holds every event the main instance held, beside raw
  SQLite storing the same rows in 1,000-row fsync'd transactions, just before.
- Propagation: three fresh hosts, every link through a ``CountingProxy``. One
  host starts with a small generated history, which the other two fetch in
  batches (bytes per event in bulk); then events are written on each host in
  turn and timed until the projectors of the other two announce them in their
  views (bytes per event when pushed, heartbeats and anti-entropy included).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq

from bench import rawsql
from bench.eventgen import write_history
from bench.figures import Figure, Section, at_most, percentile, share_of
from bench.procs import BenchError, cpu_seconds
from bench.stack import Stack
from bench.wire import CountingProxy
from clare.bus import envelope
from clare.bus.endpoints import PROJECTOR_VIEWS
from clare.core.errors import ClareError, ProtocolError
from clare.sync.config import SyncConfig

if TYPE_CHECKING:
    from pathlib import Path

SYNC_NODES = "writer,projector,gossip"
RAW_BATCH = 1000
RAW_SECONDS = 3.0
SLOW_JOINER_S = 0.3
VISIBLE_TIMEOUT_S = 5.0


def _held(stack: Stack) -> int:
    try:
        return int(stack.sync_status()["events_held"])
    except ClareError:
        return 0  # the gossip node is still starting


def _wait_held(hosts: list[Stack], target: int, timeout_s: float) -> float:
    """Seconds until every host holds ``target`` events (BenchError after ``timeout_s``)."""
    started = time.monotonic()
    while True:
        held = [_held(h) for h in hosts]
        if min(held) >= target:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise BenchError(f"sync stalled: hosts hold {held} of {target:,} events")
        time.sleep(0.1)


@dataclass(frozen=True)
class _Joined:
    """What one empty host's catch-up from ``source`` measured."""

    held: int  # events the source held, and the joiner came to hold
    seconds: float  # until the joiner held them all
    views_s: float  # until its views held them too
    projector_cpu_s: float | None  # the joiner's projector, start-up included
    gossip_kb: dict[str, int]  # peak RSS of the gossip node, by side


def _join(source: Stack, prefix: str) -> _Joined:
    """An empty host joins ``source`` as a peer and catches up on everything it holds."""
    held = _held(source)
    if held == 0:
        raise BenchError("the source instance's gossip node does not answer")
    with Stack(prefix) as joiner:
        source.add_peer("joiner", joiner.config.gossip_port, joiner.public_key())
        joiner.add_peer("source", source.config.gossip_port, source.public_key())
        try:
            started = time.monotonic()
            joiner.up(SYNC_NODES)
            # A floor of 2,000 events/s: slower than that is a failure worth its own message.
            _wait_held([joiner], held, timeout_s=max(60.0, held / 2000))
            seconds = time.monotonic() - started
            seq = joiner.writer_seq() or 0
            while (joiner.views_position() or 0) < seq:
                time.sleep(0.1)
            views_s = time.monotonic() - started
            projector = joiner.node_pids().get("projector")
            return _Joined(
                held,
                seconds,
                views_s,
                cpu_seconds(projector) if projector else None,
                {
                    "main": source.peak_rss_kb().get("gossip", 0),
                    "joining": joiner.peak_rss_kb().get("gossip", 0),
                },
            )
        finally:
            source.clare("sync", "peer", "remove", "joiner")


def _projector_cpu(joined: _Joined, label: str) -> Figure:
    cpu = joined.projector_cpu_s
    return Figure(
        f"joining host's projector CPU per event{label}",
        None if cpu is None else cpu / joined.held * 1e6,
        "µs",
        note="start-up included: folds each event once unless it arrives late for its entity",
    )


def catch_up(source: Stack, scratch: Path) -> Section:
    raw, raw_rows = rawsql.copy_rate(source.paths.events_db, scratch / "raw-catch-up.db", RAW_BATCH)
    short = rawsql.batched_insert_rate(scratch / "raw-short.db", RAW_BATCH, RAW_SECONDS)
    joined = _join(source, "cj")
    held, seconds = joined.held, joined.seconds
    figures = [
        Figure(
            f"sync catch-up, empty host ({held:,} events)",
            held / seconds,
            "/s",
            raw,
            f"raw SQLite, the same {raw_rows:,} rows, {RAW_BATCH:,} per fsync'd transaction",
            (share_of(0.6),),
        ),
        Figure(
            f"sync catch-up, empty host ({held:,} events), vs a short raw run",
            held / seconds,
            "/s",
            short,
            f"raw SQLite, {RAW_BATCH:,}-row transactions for {RAW_SECONDS:g} s into an empty DB",
            note="context: the baseline before it was made like for like",
        ),
        Figure(f"sync catch-up, wall ({held:,} events)", seconds, "s"),
        Figure(
            f"sync catch-up, until the joiner's views hold them ({held:,})", joined.views_s, "s"
        ),
        _projector_cpu(joined, ""),
        *(
            Figure(
                f"peak RSS, gossip node, {side} host of the catch-up",
                kb / 1024,
                "MB",
                aims=(at_most(80.0),),
            )
            for side, kb in joined.gossip_kb.items()
            if kb
        ),
    ]
    return Section(
        "Sync catch-up of an empty host",
        f"""
An empty instance (writer, projector, gossip) joins the main instance, which holds
{held:,} events: `clare sync peer add` on both sides (CURVE keys from `clare keys show`),
then `clare up` on the joiner. Timed from that `clare up` until the joiner's gossip status
(`events_held`, the document of `clare sync status --json`) reaches the main instance's
count; the joiner's projector folds the events meanwhile, on the same two cores. The
baseline copies the same {raw_rows:,} rows (same ids, entities and bodies, in order) from
the main instance's events DB into an empty one with Clare's schema and pragmas, with
`executemany` in {RAW_BATCH:,}-row fsync'd transactions, on the same disk, just before:
what SQLite alone needs to store that history, whose random uuid and entity indexes cost
more per row as they grow. A second row keeps the earlier, easier baseline for context:
{RAW_BATCH:,}-row transactions for {RAW_SECONDS:g} s into an empty DB (some
{short * RAW_SECONDS:,.0f} rows). Peak RSS of both gossip nodes is their VmHWM once the
joiner holds everything. The joiner's projector CPU is its user + system time once its
views hold everything, per event.
""",
        figures,
    )


def catch_up_long_notes(events: int, note_words: int, scratch: Path) -> Section:
    """The same catch-up from a history whose notes are long: batches cut by bytes."""
    with Stack("cn") as source:
        write_history(source.paths.events_db, events, source.machine_id, note_words=note_words)
        raw, raw_rows = rawsql.copy_rate(
            source.paths.events_db, scratch / "raw-notes.db", RAW_BATCH
        )
        mean_bytes = rawsql.mean_wire_bytes(source.paths.events_db)
        source.up(SYNC_NODES)
        _wait_held([source], events, timeout_s=60.0)
        joined = _join(source, "cm")
    label = f", long notes ({mean_bytes:,.0f} bytes per event)"
    defaults = SyncConfig()
    figures = [
        Figure(
            f"sync catch-up{label}",
            joined.held / joined.seconds,
            "/s",
            raw,
            f"raw SQLite, the same {raw_rows:,} rows, {RAW_BATCH:,} per fsync'd transaction",
            note="context: the aim is set on the main history above",
        ),
        Figure(f"sync catch-up, until the joiner's views hold them{label}", joined.views_s, "s"),
        _projector_cpu(joined, label),
    ]
    return Section(
        "Sync catch-up of long notes",
        f"""
The catch-up above, from a separate instance holding {joined.held:,} generated events whose
notes have {note_words} words: {mean_bytes:,.0f} bytes per event on the wire, so a request
for {defaults.batch_max_events:,} events would take more than a batch's
{defaults.batch_max_bytes:,} bytes and come back cut short. The joiner learns from the
first cut batches to ask for what fits (docs/sync-protocol.md). Events that arrive after
newer ones of their entity make the projector refold that entity: its CPU per event,
against the main history's above, shows whether they did.
""",
        figures,
    )


def _subscribe(stack: Stack) -> zmq.Socket[Any]:
    sub: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"view")
    sub.connect(stack.endpoints.ipc(PROJECTOR_VIEWS))
    return sub


def _named(frame: bytes, entity: str) -> bool:
    try:
        changed = envelope.decode(frame).get("changed")
    except ProtocolError:
        return False
    return isinstance(changed, dict) and any(
        isinstance(ids, list) and entity in ids for ids in changed.values()
    )


def _wait_seen(subs: list[zmq.Socket[Any]], entity: str) -> None:
    """Until the view notices of every socket in ``subs`` have named ``entity``."""
    poller = zmq.Poller()
    for sub in subs:
        poller.register(sub, zmq.POLLIN)
    waiting = set(subs)
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    while waiting and (left := deadline - time.monotonic()) > 0:
        for sock, _ in poller.poll(int(left * 1000) + 1):
            *_, frame = sock.recv_multipart()
            if _named(frame, entity):
                waiting.discard(sock)
    if waiting:
        raise BenchError(f"{entity} not visible on every host in {VISIBLE_TIMEOUT_S:g} s")


def propagation(bulk_events: int, count: int, pause_s: float) -> Section:
    with contextlib.ExitStack() as stacks:
        hosts = [stacks.enter_context(Stack(f"cp{i}")) for i in range(3)]
        write_history(hosts[0].paths.events_db, bulk_events, hosts[0].machine_id)
        keys = [h.public_key() for h in hosts]
        proxies: list[CountingProxy] = []
        for i, host in enumerate(hosts):
            for j, other in enumerate(hosts):
                if i != j:
                    proxy = stacks.enter_context(CountingProxy(other.config.gossip_port))
                    proxies.append(proxy)
                    host.add_peer(f"h{j}", proxy.port, keys[j])
        for host in hosts:
            host.up(SYNC_NODES)
        bulk_s = _wait_held(hosts, bulk_events, timeout_s=max(30.0, bulk_events / 1000))
        bulk_bytes = sum(p.bytes_forwarded for p in proxies)
        subs = [_subscribe(h) for h in hosts]
        try:
            time.sleep(SLOW_JOINER_S)  # a SUB misses what is published before it is connected
            samples = _propagate(hosts, subs, count, pause_s)
        finally:
            for sub in subs:
                sub.close(linger=0)
        push_bytes = sum(p.bytes_forwarded for p in proxies) - bulk_bytes
    delivered = 2  # each event reaches two other hosts
    return Section(
        "Propagation across three hosts",
        f"""
Three fresh instances (writer, projector, gossip) on loopback, each a peer of the other
two, every link through a byte-counting TCP proxy. The first starts with {bulk_events:,}
generated events, which the other two fetch ({bulk_s:.1f} s). Then {count} `task.add`
commands are written on each host in turn, {pause_s * 1000:g} ms apart; each is timed from
the send until the projector PUB of both other hosts has announced the task in their
views. Bytes per event are everything the proxies forwarded in each phase (both
directions, CURVE framing, heartbeats, vector exchanges) over events delivered (each
event reaches two hosts).
""",
        [
            Figure(
                "propagation to 2 other hosts' views, p99",
                percentile(samples, 99),
                "ms",
                aims=(at_most(250.0),),
            ),
            Figure("propagation to 2 other hosts' views, p50", percentile(samples, 50), "ms"),
            Figure(
                "bytes on the wire per event, bulk catch-up",
                bulk_bytes / (bulk_events * delivered),
                "B",
            ),
            Figure(
                "bytes on the wire per event, pushed one at a time",
                push_bytes / (count * delivered),
                "B",
            ),
        ],
    )


def _propagate(
    hosts: list[Stack], subs: list[zmq.Socket[Any]], count: int, pause_s: float
) -> list[float]:
    clients = [stack.command_client() for stack in hosts]
    samples: list[float] = []
    try:
        for i in range(count):
            k = i % len(hosts)
            others = [sub for j, sub in enumerate(subs) if j != k]
            sent = time.perf_counter()
            result = clients[k].call(
                "task.add", {"project": "bench", "title": f"spread {i}", "author": "b@h"}
            )
            _wait_seen(others, str(result["task"]))
            samples.append((time.perf_counter() - sent) * 1000)
            time.sleep(pause_s)
    finally:
        for client in clients:
            client.close()
    return samples
