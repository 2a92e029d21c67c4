"""An in-memory network of hosts driving the sync core, standing in for the I/O shell.

Each host has a skewed physical clock, a HybridClock, a MemoryLog (its
store, which survives a crash) and a SyncNode (which does not). Messages go
through the real codec and wait in ``in_flight`` until a test delivers,
drops, duplicates or corrupts them; store work (reads and ingests) waits in
``work`` until a test performs it, so the shell's latency can be reordered too.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clare.core.hlc import HybridClock, unpack
from clare.sync.actions import Action, Ingest, Notice, PeerDown, PeerUp, ReadEvents, Send
from clare.sync.config import SyncConfig
from clare.sync.log import MemoryLog
from clare.sync.messages import encode
from clare.sync.node import SyncNode

if TYPE_CHECKING:
    from clare.core.events import Event

BOUND_MS = 500

FAST = SyncConfig(
    batch_max_events=4,
    batch_max_bytes=400,
    window=2,
    serve_window=1,
    serve_queue=1,
    max_push_ingests=1,
    round_interval_ms=500,
    heartbeat_interval_ms=200,
    peer_timeout_ms=1000,
    request_timeout_ms=2000,
    reject_backoff_ms=300,
)


@dataclass
class SimHost:
    name: str
    net: SimNet
    skew_ms: int = 0
    node: SyncNode | None = None
    work: list[ReadEvents | Ingest] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    writes: int = 0

    def __post_init__(self) -> None:
        self.clock = HybridClock(physical_ms=self.physical_ms, max_offset_ms=BOUND_MS)
        self.log = MemoryLog(self.name, self.clock)

    def physical_ms(self) -> int:
        return self.net.now_ms + self.skew_ms

    @property
    def alive(self) -> bool:
        return self.node is not None

    def start(self) -> None:
        """Start (or restart) from the store, as the gossip and writer processes would."""
        self.clock.restore(self.log.max_hlc())
        self.node = SyncNode(
            self.name, self.log.vector(), rng=self.net.rng.random, config=self.net.config
        )
        for peer in self.net.hosts:
            if peer != self.name:
                self.net.dispatch(self, self.node.add_peer(peer, self.net.now_ms))

    def crash(self) -> None:
        self.node = None
        self.work.clear()  # reads and ingests in progress die with the process

    def write(self) -> Event:
        self.writes += 1
        event = self.log.append(f"{self.name}-{self.writes}", "Wrote", b"\x81\xa1n\x01")
        if self.node is not None:
            self.net.dispatch(self, self.node.local_committed([event], self.net.now_ms))
        return event

    def do_work(self, index: int) -> None:
        action = self.work.pop(index)
        assert self.node is not None
        now = self.net.now_ms
        if isinstance(action, ReadEvents):
            events = self.log.read(action.ranges, action.max_events, action.max_bytes)
            self.net.dispatch(self, self.node.events_read(action.token, events, now))
            return
        result = self.log.ingest(action.events)
        for event in result.new:
            # Invariant 7: nothing stored was stamped beyond the bound at ingest time.
            assert unpack(event.hlc)[0] - self.physical_ms() <= BOUND_MS
        self.net.dispatch(self, self.node.ingested(action.token, result, now))


@dataclass
class SimNet:
    names: list[str]
    config: SyncConfig = FAST
    seed: int = 0
    now_ms: int = 1_700_000_000_000
    in_flight: list[tuple[str, str, bytes]] = field(default_factory=list)
    cut: set[frozenset[str]] = field(default_factory=set)
    sent: list[tuple[str, Send]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.hosts = {name: SimHost(name, self) for name in self.names}

    def start(self) -> None:
        for host in self.hosts.values():
            host.start()

    def dispatch(self, host: SimHost, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case Send(peer=peer, message=message):
                    self.sent.append((host.name, action))
                    if frozenset((host.name, peer)) not in self.cut:
                        self.in_flight.append((host.name, peer, encode(message)))
                case ReadEvents() | Ingest():
                    host.work.append(action)
                case Notice():
                    host.notices.append(action)
                case PeerUp() | PeerDown():
                    pass

    def deliver(self, index: int = 0) -> None:
        src, dst, frame = self.in_flight.pop(index)
        host = self.hosts[dst]
        if frozenset((src, dst)) in self.cut or host.node is None:
            return
        self.dispatch(host, host.node.receive_frame(src, frame, self.now_ms))

    def advance(self, ms: int) -> None:
        self.now_ms += ms
        for host in self.hosts.values():
            if host.node is not None:
                self.dispatch(host, host.node.tick(self.now_ms))

    def drain(self, max_steps: int = 100_000) -> None:
        """Deliver every message and do all store work, in order, until quiet."""
        for _ in range(max_steps):
            if self.in_flight:
                self.deliver(0)
                continue
            busy = [h for h in self.hosts.values() if h.work]
            if not busy:
                return
            for host in busy:
                host.do_work(0)
        raise AssertionError("the network did not quiet down")

    def converged(self) -> bool:
        logs = [h.log for h in self.hosts.values()]
        ids = {frozenset(e.id for e in log.events()) for log in logs}
        return len(ids) == 1 and all(log.vector() == logs[0].vector() for log in logs)

    def settle(self, step_ms: int = 100, max_ms: int = 60_000) -> int:
        """Heal, restart, then run until every host holds the same events; returns ms taken."""
        self.cut.clear()
        for host in self.hosts.values():
            if host.node is None:
                host.start()
        waited = 0
        while True:
            self.drain()
            if self.converged():
                return waited
            if waited >= max_ms:
                raise AssertionError(f"no convergence after {max_ms} ms: {self.vectors()}")
            self.advance(step_ms)
            waited += step_ms

    def vectors(self) -> dict[str, dict[str, int]]:
        return {name: h.log.vector() for name, h in self.hosts.items()}
