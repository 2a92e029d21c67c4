"""A fleet of up to 100 hosts on paper: the real sync core over an in-memory network.

``python -m bench.fleet_sim`` (``--quick`` for a smoke run) prints the table
that docs/benchmarks.md ("A fleet on paper") holds.

Each host is the real :class:`~clare.sync.node.SyncNode` over a
:class:`~clare.sync.log.MemoryLog` with its own hybrid clock; every frame goes
through the real codec and waits ``latency_ms`` (plus jitter) on the wire.
Store work is done at once. The links are the real choice of
:func:`clare.sync.links.choose_links`, bounded by ``max_links`` and redone on
every change of membership. Churn during the run: a tenth of the final fleet
joins late (catching up on everything before it), a twentieth is removed
(every member refuses its later events), and twice a fifth of the hosts is cut
off from the rest for two seconds.

Measured: for each event and each host that is a member from its write to the
end, the time from the write until that host stored it (p50, p99; events
written during a partition are left out of these and reported as the time the
last of them took), and the bytes of frames that carry events (push, batch)
per event per receiving host, beside all bytes (adverts, heartbeats, requests
too). The baseline is the same run with every host linked to every other (a
full mesh, which is what hand-made peers give), at the same fleet size.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from clare.core.hlc import HybridClock
from clare.sync.actions import Action, Ingest, ReadEvents, Send
from clare.sync.config import SyncConfig
from clare.sync.links import Seat, choose_links
from clare.sync.log import MemoryLog
from clare.sync.messages import Batch, Push, encode
from clare.sync.node import SyncNode

START_MS = 1_700_000_000_000
#: Where this section starts in docs/benchmarks.md (``--write`` replaces it).
MARKER = "<!-- fleet_sim: written by python -m bench.fleet_sim --write -->"
REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TICK_MS = 10


@dataclass
class _Host:
    name: str
    log: MemoryLog
    node: SyncNode
    member: bool = False


@dataclass
class Result:
    hosts: int
    max_links: int
    events: int
    p50_ms: float
    p99_ms: float
    partition_heal_ms: float
    event_bytes_per_host: float
    all_bytes_per_host: float
    wall_s: float


@dataclass
class FleetSim:
    final_hosts: int
    max_links: int
    events: int
    duration_ms: int = 20_000
    latency_ms: int = 2
    seed: int = 1
    now: int = START_MS
    _queue: list[tuple[int, int, str, str, bytes]] = field(default_factory=list)
    _order: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.config = SyncConfig()
        self.hosts: dict[str, _Host] = {}
        for i in range(self.final_hosts):
            name = f"h{i:03}"
            log = MemoryLog(name, HybridClock(physical_ms=lambda: self.now, max_offset_ms=500))
            node = SyncNode(name, {}, rng=self.rng.random, config=self.config)
            self.hosts[name] = _Host(name, log, node)
        self.cut: set[str] = set()  # hosts cut off from the rest
        self.event_bytes = 0
        self.all_bytes = 0
        self.written: dict[str, tuple[int, bool]] = {}  # id -> (write time, during a cut)
        self.receivers: dict[str, set[str]] = {}
        self.latency: dict[tuple[str, str], int] = {}
        self.removed: set[str] = set()

    # -- the network ------------------------------------------------------------------

    def _dispatch(self, host: _Host, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Send(peer=peer, message=message):
                    frame = encode(message)
                    self.all_bytes += len(frame)
                    if isinstance(message, Push | Batch):
                        self.event_bytes += len(frame)
                    if (host.name in self.cut) != (peer in self.cut):
                        continue
                    delay = self.latency_ms + self.rng.randint(0, self.latency_ms)
                    self._order += 1
                    heapq.heappush(
                        self._queue, (self.now + delay, self._order, host.name, peer, frame)
                    )
                case ReadEvents():
                    events = host.log.read(action.ranges, action.max_events, action.max_bytes)
                    self._dispatch(host, host.node.events_read(action.token, events, self.now))
                case Ingest():
                    result = host.log.ingest(action.events)
                    for event in result.new:
                        self.latency.setdefault((event.id, host.name), self.now)
                    self._dispatch(host, host.node.ingested(action.token, result, self.now))

    def _relink(self) -> None:
        members = [h for h in self.hosts.values() if h.member]
        seats = [Seat(h.name, h.name) for h in members]
        for host in members:
            want = choose_links(seats, host.name, self.max_links)
            have = set(host.node.peers())
            for gone in sorted(have - want):
                self._dispatch(host, host.node.remove_peer(gone))
            for new in sorted(want - have):
                self._dispatch(host, host.node.add_peer(new, self.now))

    # -- churn ----------------------------------------------------------------------------

    def _join(self, name: str) -> None:
        self.hosts[name].member = True
        self._relink()

    def _remove(self, name: str) -> None:
        host = self.hosts[name]
        host.member = False
        self.removed.add(name)
        stamp = max(h.log.clock.now() for h in self.hosts.values() if h.member)
        for other in self.hosts.values():
            other.log.removed_origins[name] = stamp
        for peer in host.node.peers():
            host.node.remove_peer(peer)
        self._relink()

    def _write(self) -> None:
        writers = [h for h in self.hosts.values() if h.member]
        host = self.rng.choice(writers)
        event = host.log.append(f"{host.name}-{len(self.written)}", "Wrote", b"\x81\xa1n\x01")
        self.written[event.id] = (self.now, bool(self.cut))
        self.receivers[event.id] = {h.name for h in writers if h is not host}
        self._dispatch(host, host.node.local_committed([event], self.now))

    # -- the run --------------------------------------------------------------------------

    def run(self) -> Result:
        started = time.perf_counter()
        n = self.final_hosts
        late = self.rng.sample(sorted(self.hosts), max(1, n // 10))
        for name, host in self.hosts.items():
            host.member = name not in late
        self._relink()
        span = self.duration_ms - 6000
        plan: list[tuple[int, str, str]] = [
            (1000 + i * span // self.events, "write", "") for i in range(self.events)
        ]
        plan += [(self.rng.randint(2000, span), "join", name) for name in late]
        stayers = [h for h in sorted(self.hosts) if h not in late]
        plan += [(self.rng.randint(3000, span), "remove", name) for name in
                 self.rng.sample(stayers, max(1, n // 20))]  # fmt: skip
        for start in (4000, 10_000):
            plan.append((start, "cut", ""))
            plan.append((start + 2000, "heal", ""))
        plan.sort()
        end = START_MS + self.duration_ms
        next_tick = START_MS
        step = 0
        while self.now < end:
            due = [START_MS + plan[step][0]] if step < len(plan) else []
            wire = [self._queue[0][0]] if self._queue else []
            self.now = min([next_tick, end, *due, *wire])
            if wire and self._queue[0][0] <= self.now:
                _, _, src, dst, frame = heapq.heappop(self._queue)
                host = self.hosts[dst]
                if host.member and src not in self.removed:
                    self._dispatch(host, host.node.receive_frame(src, frame, self.now))
                continue
            if due and due[0] <= self.now:
                _, what, name = plan[step]
                step += 1
                self._apply(what, name)
                continue
            if self.now >= next_tick:
                next_tick += TICK_MS
                for host in self.hosts.values():
                    deadline = host.node.next_deadline_ms()
                    if host.member and deadline is not None and deadline <= self.now:
                        self._dispatch(host, host.node.tick(self.now))
        return self._result(time.perf_counter() - started)

    def _apply(self, what: str, name: str) -> None:
        if what == "write":
            self._write()
        elif what == "join":
            self._join(name)
        elif what == "remove":
            self._remove(name)
        elif what == "cut":
            members = sorted(h for h, host in self.hosts.items() if host.member)
            self.cut = set(self.rng.sample(members, len(members) // 5))
        elif what == "heal":
            self.cut = set()

    def _result(self, wall_s: float) -> Result:
        steady: list[int] = []
        heal: list[int] = []
        received = 0
        for event_id, (at, during_cut) in self.written.items():
            for name in self.receivers[event_id]:
                if not self.hosts[name].member:
                    continue  # removed meanwhile
                stored = self.latency.get((event_id, name))
                if stored is None:
                    raise AssertionError(f"{name} never stored {event_id}")
                received += 1
                (heal if during_cut else steady).append(stored - at)
        steady.sort()
        return Result(
            hosts=self.final_hosts,
            max_links=self.max_links,
            events=len(self.written),
            p50_ms=statistics.median(steady),
            p99_ms=steady[min(len(steady) - 1, int(len(steady) * 0.99))],
            partition_heal_ms=max(heal, default=0),
            event_bytes_per_host=self.event_bytes / received,
            all_bytes_per_host=self.all_bytes / received,
            wall_s=wall_s,
        )


def table(rows: list[tuple[Result, Result | None]]) -> str:
    lines = [
        "| hosts | links per host | events | p50 ms | p99 ms | last event of a partition, ms "
        "| event bytes per event per host | all bytes per event per host "
        "| full mesh: event bytes per event per host | ratio to full mesh |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for bounded, mesh in rows:
        mesh_bytes = f"{mesh.event_bytes_per_host:.0f}" if mesh else "not run (n² frames)"
        ratio = f"{bounded.event_bytes_per_host / mesh.event_bytes_per_host:.2f}" if mesh else "-"
        lines.append(
            f"| {bounded.hosts} | {bounded.max_links} | {bounded.events} | {bounded.p50_ms:.0f} "
            f"| {bounded.p99_ms:.0f} | {bounded.partition_heal_ms:.0f} "
            f"| {bounded.event_bytes_per_host:.0f} | {bounded.all_bytes_per_host:.0f} "
            f"| {mesh_bytes} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet_sim", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small numbers, to see it works")
    parser.add_argument("--max-links", type=int, default=8)
    parser.add_argument("--write", action="store_true", help=f"put the table in {REPORT.name}")
    args = parser.parse_args(argv)
    sizes = (10, 20) if args.quick else (10, 30, 100)
    events = 20 if args.quick else 200
    mesh_up_to = 30
    rows = []
    for n in sizes:
        bounded = FleetSim(n, args.max_links, events).run()
        mesh = FleetSim(n, n, events).run() if n <= mesh_up_to else None
        rows.append((bounded, mesh))
        print(f"{n} hosts done in {bounded.wall_s:.0f} s", file=sys.stderr)
    text = table(rows)
    if args.write and not args.quick:
        write_section(text, args.max_links)
    else:
        print(text)
    return 0


def write_section(text: str, max_links: int) -> None:
    old = REPORT.read_text(encoding="utf-8")
    at = old.find(MARKER)
    head = (old[:at] if at >= 0 else old).rstrip("\n")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    REPORT.write_text(
        f"{head}\n\n{MARKER}\n\n## A fleet on paper: 10, 30 and 100 hosts\n\n"
        f"Produced by `python -m bench.fleet_sim --write` ({stamp}); see its docstring.\n"
        f"The real sync core (`SyncNode`, `MemoryLog`, the codec, `choose_links` with "
        f"`max_links` = {max_links}) over an in-memory network with 2-4 ms per hop; "
        "a tenth of the fleet joins late and catches up, a twentieth is removed, and "
        "twice a fifth of the hosts is cut off for 2 s. p50/p99: from a write until "
        "each member stored it, leaving out events written during a partition (the "
        "next column is the slowest of those). Bytes: frames that carry events (push, "
        "batch) over (events x receiving hosts); all bytes adds adverts, heartbeats "
        "and requests, which grow with the fleet (a vector has an entry per origin) and "
        "with time rather than with events. Baseline: the same run as a full mesh, "
        "which is what hand-made peers give.\n\n"
        f"{text}\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    sys.exit(main())
