"""Sync convergence under an adversarial network, as a Hypothesis state machine.

Hosts write at random; the network drops, duplicates, reorders and corrupts
messages; links are cut and healed; hosts crash (losing their sync state and
any store work in progress, keeping their log) and restart; physical clocks
are skewed within and beyond the HLC bound. The invariants hold after every
step; after healing, restarting and letting time pass, every host holds the
same events.

What the clock bound promises, and is asserted here: no host ever stores an
event stamped more than the bound ahead of its own clock at that moment; such
events are refused, asked for again, and accepted once the receiver's clock
has caught up, so convergence is delayed by the skew, never prevented.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from clare.sync.actions import Ingest

from .simnet import FAST, SimNet

NAMES = ["a", "b", "c", "d"]


class SyncNetwork(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.net = SimNet(NAMES[:3])

    @initialize(
        hosts=st.integers(3, 4),
        skews=st.lists(st.integers(-1500, 1500), min_size=4, max_size=4),
        seed=st.integers(0, 2**32),
    )
    def start(self, hosts: int, skews: list[int], seed: int) -> None:
        self.net = SimNet(NAMES[:hosts], seed=seed)
        for host, skew in zip(self.net.hosts.values(), skews, strict=False):
            host.skew_ms = skew
        self.net.start()

    # -- the world ----------------------------------------------------------

    @rule(host=st.sampled_from(NAMES), n=st.integers(1, 12))
    def write(self, host: str, n: int) -> None:
        h = self.net.hosts.get(host)
        if h is not None and h.alive:
            for _ in range(n):
                h.write()

    @rule(ms=st.integers(1, 1200))
    def advance(self, ms: int) -> None:
        self.net.advance(ms)

    @rule(
        ops=st.lists(
            st.tuples(
                st.sampled_from(["deliver"] * 6 + ["drop", "duplicate", "corrupt"]),
                st.integers(0, 10**6),
                st.integers(0, 255),
            ),
            min_size=1,
            max_size=30,
        )
    )
    def network(self, ops: list[tuple[str, int, int]]) -> None:
        """Messages delivered in any order, some dropped, repeated or mangled."""
        flight = self.net.in_flight
        for op, i, byte in ops:
            if not flight:
                return
            i %= len(flight)
            if op == "deliver":
                self.net.deliver(i)
            elif op == "drop":
                flight.pop(i)
            elif op == "duplicate":
                flight.append(flight[i])
            else:
                # Cut short: a frame that can never decode. CURVE authenticates
                # every frame, so damage that still decodes cannot happen.
                src, dst, frame = flight[i]
                flight[i] = (src, dst, frame[: byte % max(1, len(frame))])

    @rule(host=st.sampled_from(NAMES), i=st.integers(0, 10**6), times=st.integers(1, 8))
    def store_work(self, host: str, i: int, times: int) -> None:
        h = self.net.hosts.get(host)
        for _ in range(times):
            if h is not None and h.work:
                h.do_work(i % len(h.work))

    @rule(a=st.sampled_from(NAMES), b=st.sampled_from(NAMES))
    def cut(self, a: str, b: str) -> None:
        if a != b:
            self.net.cut.add(frozenset((a, b)))

    @rule()
    def heal(self) -> None:
        self.net.cut.clear()

    @rule(host=st.sampled_from(NAMES))
    def crash(self, host: str) -> None:
        h = self.net.hosts.get(host)
        if h is not None:
            h.crash()

    @rule(host=st.sampled_from(NAMES))
    def restart(self, host: str) -> None:
        h = self.net.hosts.get(host)
        if h is not None and not h.alive:
            h.start()

    @rule()
    def settle(self) -> None:
        self.net.settle()
        self.check_converged()

    # -- what must always hold ------------------------------------------------

    @invariant()
    def logs_are_sound(self) -> None:
        for host in self.net.hosts.values():
            events = host.log.events()
            assert len({e.id for e in events}) == len(events)
            seqs: dict[str, set[int]] = {}
            for e in events:
                assert e.origin_seq not in seqs.setdefault(e.origin, set())
                seqs[e.origin].add(e.origin_seq)
            # The vector is honest: every seq up to it is held, the next one is not.
            for origin, top in host.log.vector().items():
                assert seqs[origin] >= set(range(1, top + 1))
                assert top + 1 not in seqs[origin]
            assert host.log.vector().get(host.name, 0) == host.writes

    @invariant()
    def nodes_never_claim_more_than_is_stored(self) -> None:
        for host in self.net.hosts.values():
            if host.node is not None:
                stored = host.log.vector()
                for origin, top in host.node.vector.items():
                    assert top <= stored.get(origin, 0)

    @invariant()
    def memory_for_incoming_events_is_bounded(self) -> None:
        limit = (FAST.window + FAST.max_push_ingests) * FAST.batch_max_events
        for host in self.net.hosts.values():
            waiting: Counter[str] = Counter()
            for action in host.work:
                if isinstance(action, Ingest):
                    waiting[action.peer] += len(action.events)
            assert all(n <= limit for n in waiting.values()), waiting

    def check_converged(self) -> None:
        hosts = list(self.net.hosts.values())
        ids = [sorted(e.id for e in h.log.events()) for h in hosts]
        assert all(x == ids[0] for x in ids)
        assert sum(h.writes for h in hosts) == len(ids[0])
        orders = [[e.id for e in sorted(h.log.events(), key=lambda e: e.order_key)] for h in hosts]
        assert all(x == orders[0] for x in orders)
        keys = [e.order_key for e in hosts[0].log.events()]
        assert len(set(keys)) == len(keys)  # the order is total: no ties to break
        for h in hosts:
            assert all(not h.log.held_above(o) for o in h.log.vector())

    def teardown(self) -> None:
        self.net.settle()
        self.check_converged()


SyncNetwork.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
test_sync_converges = SyncNetwork.TestCase
