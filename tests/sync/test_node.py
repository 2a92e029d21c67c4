from __future__ import annotations

from typing import TYPE_CHECKING

from clare.core.events import Event
from clare.sync.actions import Action, Ingest, Notice, PeerDown, PeerUp, ReadEvents, Send
from clare.sync.log import IngestResult
from clare.sync.messages import Advert, Batch, Error, Heartbeat, Hello, Push, Request
from clare.sync.node import SyncNode
from clare.sync.vector import Range

from .simnet import FAST, SimNet

if TYPE_CHECKING:
    from clare.sync.config import SyncConfig

T0 = 1_000_000


def ev(origin: str, seq: int) -> Event:
    return Event(0, f"{origin}-{seq}", origin, seq, seq << 16, "Wrote", b"\x80")


def sends(actions: list[Action]) -> list[Send]:
    return [a for a in actions if isinstance(a, Send)]


def requests(actions: list[Action]) -> list[Request]:
    return [a.message for a in sends(actions) if isinstance(a.message, Request)]


def node(vector: dict[str, int] | None = None, config: SyncConfig = FAST) -> SyncNode:
    return SyncNode("me", vector or {}, rng=lambda: 0.5, config=config)


def linked(
    vector: dict[str, int] | None = None, peer_vector: dict[str, int] | None = None
) -> tuple[SyncNode, list[Action]]:
    n = node(vector)
    n.add_peer("p", T0)
    return n, n.receive("p", Hello("p", peer_vector or {}), T0)


def test_add_peer_says_hello_and_hello_is_answered_with_an_advert() -> None:
    n = node({"me": 3})
    assert n.add_peer("p", T0) == [Send("p", Hello("me", {"me": 3}))]
    assert n.add_peer("p", T0) == []
    actions = n.receive("p", Hello("p", {}), T0)
    assert actions == [PeerUp("p"), Send("p", Advert({"me": 3}))]


def test_pull_is_bounded_by_the_window_and_batch_size() -> None:
    n, actions = linked(peer_vector={"p": 100})
    asked = requests(actions)
    assert len(asked) == FAST.window
    assert [r.ranges for r in asked] == [(Range("p", 1, 4),), (Range("p", 5, 8),)]
    assert all(r.max_events == FAST.batch_max_events for r in asked)
    # Nothing more until a slot frees, whatever the peer advertises.
    assert requests(n.receive("p", Advert({"p": 1000}), T0)) == []
    batch = Batch(asked[0].request_id, tuple(ev("p", s) for s in range(1, 5)), more=False)
    (ingest,) = n.receive("p", batch, T0)
    assert isinstance(ingest, Ingest)
    assert requests(n.tick(T0 + 1)) == []  # the batch still holds its slot while ingesting
    done = n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"p": 4}), T0 + 2)
    assert [r.ranges for r in requests(done)] == [(Range("p", 9, 12),)]
    assert n.vector == {"p": 4}


def test_a_batch_cut_short_sets_how_much_later_requests_ask_for() -> None:
    """Asking a peer for more than it fits in a batch leaves the rest of each range
    to a later request, whose events arrive after newer ones: so ask for what fits."""
    n, actions = linked(peer_vector={"p": 100})
    first, _ = requests(actions)
    cut = Batch(first.request_id, (ev("p", 1), ev("p", 2)), more=True)
    (ingest,) = n.receive("p", cut, T0)
    assert isinstance(ingest, Ingest)
    done = n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"p": 2}), T0 + 1)
    (tail,) = requests(done)
    assert (tail.max_events, tail.ranges) == (2, (Range("p", 3, 4),))
    # The peer may come back with other bounds: a new link asks for the full size again.
    t = T0 + FAST.peer_timeout_ms + 1
    assert PeerDown("p") in n.tick(t)
    again = requests(n.receive("p", Hello("p", {"p": 100}), t + 1))
    assert again
    assert all(r.max_events == FAST.batch_max_events for r in again)


def test_two_peers_are_never_asked_for_the_same_range() -> None:
    n = node()
    n.add_peer("p", T0)
    n.add_peer("q", T0)
    asked = requests(n.receive("p", Hello("p", {"x": 6}), T0))
    asked += requests(n.receive("q", Hello("q", {"x": 10}), T0))
    seqs = [s for r in asked for rng in r.ranges for s in range(rng.first, rng.last + 1)]
    assert sorted(seqs) == list(range(1, 11))


def test_a_batch_with_unasked_events_is_refused_and_answered_once() -> None:
    n, actions = linked(peer_vector={"p": 2})
    (req,) = requests(actions)
    out = n.receive("p", Batch(req.request_id, (ev("q", 1),), more=False), T0)
    assert [type(a) for a in out] == [Notice, Send]
    assert isinstance(out[1], Send)
    assert isinstance(out[1].message, Error)
    # The claim is released but not asked again at once, so a broken peer
    # cannot pull us into a loop at network speed: the next tick asks.
    (again,) = requests(n.tick(T0 + 1))
    assert again.ranges == req.ranges
    out = n.receive("p", Batch(again.request_id, (ev("p", 1), ev("p", 1)), more=False), T0 + 2)
    assert [type(a) for a in out] == [Notice]  # the Error reply is rate limited
    assert n.status()[0].stats.protocol_errors == 2


def test_batches_nobody_asked_for_are_dropped() -> None:
    n, _ = linked()
    assert n.receive("p", Batch(12345, (ev("p", 1),), more=False), T0) == []
    assert n.status()[0].stats.late_batches == 1


def test_malformed_frames_get_a_rate_limited_error_and_errors_are_never_answered() -> None:
    n, _ = linked()
    first = n.receive_frame("p", b"\xc1", T0)
    assert [type(a) for a in first] == [Notice, Send]
    assert n.receive_frame("p", b"\xc1", T0 + 1) == [Notice("p", "protocol", first[0].detail)]  # type: ignore[union-attr]
    out = n.receive("p", Error("protocol", "what?"), T0 + 5000)
    assert out == [Notice("p", "peer_error", "protocol: what?")]
    assert n.receive_frame("stranger", b"\x80", T0) == [
        Notice("stranger", "unknown_peer", "frame from a peer we do not know")
    ]


def test_unknown_peers_get_nothing() -> None:
    n, _ = linked()
    out = n.receive("stranger", Request(1, (Range("me", 1, 1),), 1, 1), T0)
    assert out == [Notice("stranger", "unknown_peer", "request from a peer we do not know")]


def test_serving_clamps_requests_and_bounds_the_queue() -> None:
    n, _ = linked({"me": 50})
    huge = Request(7, (Range("me", 1, 50),), 10_000, 1 << 22)
    (read,) = n.receive("p", huge, T0)
    assert isinstance(read, ReadEvents)
    assert (read.max_events, read.max_bytes) == (FAST.batch_max_events, FAST.batch_max_bytes)
    assert n.receive("p", Request(8, huge.ranges, 1, 1), T0) == []  # queued
    assert n.receive("p", Request(9, huge.ranges, 1, 1), T0) == []  # dropped
    assert n.status()[0].stats.requests_dropped == 1
    out = n.events_read(read.token, [ev("me", s) for s in range(1, 5)], T0)
    assert out[0] == Send("p", Batch(7, tuple(ev("me", s) for s in range(1, 5)), more=True))
    assert isinstance(out[1], ReadEvents)  # the queued request goes next
    final = n.events_read(out[1].token, [ev("me", 1)], T0)
    assert final == [Send("p", Batch(8, (ev("me", 1),), more=True))]


def test_a_peer_that_serves_less_than_it_advertised_is_believed_until_its_next_advert() -> None:
    n, actions = linked(peer_vector={"p": 3})
    (req,) = requests(actions)
    (ingest,) = n.receive("p", Batch(req.request_id, (ev("p", 1),), more=False), T0)
    assert isinstance(ingest, Ingest)
    out = n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"p": 1}), T0)
    assert requests(out) == []
    assert [r.ranges for r in requests(n.receive("p", Advert({"p": 3}), T0))] == [
        (Range("p", 2, 3),)
    ]


def test_pushes_are_ingested_within_a_window_and_reveal_gaps() -> None:
    n, _ = linked()
    out = n.receive("p", Push((ev("p", 3),)), T0)
    ingest = next(a for a in out if isinstance(a, Ingest))
    assert [r.ranges for r in requests(out)] == [(Range("p", 1, 2),)]
    # Push window full: the push is dropped, but what it revealed is pulled.
    dropped = n.receive("p", Push((ev("p", 4),)), T0)
    assert not any(isinstance(a, Ingest) for a in dropped)
    assert [r.ranges for r in requests(dropped)] == [(Range("p", 4, 4),)]
    assert n.status()[0].stats.pushes_dropped == 1
    n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"p": 0}), T0)
    assert n.vector == {}  # held above the gap, not advertised
    out = n.receive("p", Push((ev("p", 3), ev("me", 1))), T0)
    # Nothing new in it, but p's own event goes to the writer again: its maker
    # vouches for it, and only the writer can tell it from a forgery in that slot.
    (again,) = [a for a in out if isinstance(a, Ingest)]
    assert again.events == (ev("p", 3),)


def test_fresh_local_events_are_pushed_and_new_remote_ones_relayed() -> None:
    n = node({"me": 0})
    for peer in ("p", "q", "r"):
        n.add_peer(peer, T0)
        n.receive(peer, Hello(peer, {}), T0)
    n.receive("r", Advert({"me": 1}), T0)  # r claims it: only a forgery could be there
    out = n.local_committed([ev("me", 1), ev("x", 1)], T0)
    assert sorted(s.peer for s in sends(out)) == ["p", "q", "r"]
    assert all(s.message == Push((ev("me", 1),)) for s in sends(out))
    (ingest,) = [a for a in n.receive("p", Push((ev("p", 1),)), T0) if isinstance(a, Ingest)]
    relayed = n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"p": 1}), T0)
    assert sorted(s.peer for s in sends(relayed)) == ["q", "r"]
    # A relay, unlike our own events, skips a peer that says it holds the event.
    n.receive("q", Advert({"me": 1, "s": 1}), T0)
    (ingest,) = [a for a in n.receive("p", Push((ev("s", 1),)), T0) if isinstance(a, Ingest)]
    relayed = n.ingested(ingest.token, IngestResult(new=ingest.events, vector={"s": 1}), T0)
    assert sorted(s.peer for s in sends(relayed)) == ["r"]


def test_clock_ahead_defers_the_origin_then_asks_again() -> None:
    n, actions = linked(peer_vector={"p": 1})
    (req,) = requests(actions)
    (ingest,) = n.receive("p", Batch(req.request_id, (ev("p", 1),), more=False), T0)
    assert isinstance(ingest, Ingest)
    out = n.ingested(ingest.token, IngestResult(clock_ahead=ingest.events, vector={"p": 0}), T0)
    assert [a.code for a in out if isinstance(a, Notice)] == ["clock_ahead"]
    assert requests(out) == []
    assert requests(n.tick(T0 + FAST.reject_backoff_ms - 1)) == []
    assert [r.ranges for r in requests(n.tick(T0 + FAST.reject_backoff_ms))] == [
        (Range("p", 1, 1),)
    ]
    assert n.status()[0].stats.clock_ahead == 1


def test_silence_takes_a_peer_down_and_frees_its_requests() -> None:
    n = node()
    n.add_peer("p", T0)
    n.add_peer("q", T0)
    (req,) = requests(n.receive("p", Hello("p", {"x": 2}), T0))
    n.receive("q", Hello("q", {"x": 2}), T0)
    t = T0 + FAST.peer_timeout_ms
    n.receive("q", Heartbeat(), t - 1)
    out = n.tick(t)
    assert PeerDown("p") in out
    # The range is free again and q has it.
    assert [(s.peer, s.message.ranges) for s in sends(out) if isinstance(s.message, Request)] == [
        ("q", req.ranges)
    ]
    # While down, p gets Hello probes, not heartbeats; a word from it brings it back.
    probes = n.tick(t + FAST.heartbeat_interval_ms)
    assert Send("p", Hello("me", {})) in probes
    assert n.receive("p", Heartbeat(), t + 2000)[:2] == [PeerUp("p"), Send("p", Advert({}))]


def test_rounds_are_jittered_by_the_injected_random_source() -> None:
    for value, expected in ((0.0, 375), (0.5, 500), (0.999, 625)):
        n = SyncNode("me", {}, rng=lambda v=value: v, config=FAST)  # type: ignore[misc]
        n.add_peer("p", T0)
        n.receive("p", Hello("p", {}), T0)
        quiet = [a for a in n.tick(T0 + expected - 1) if isinstance(a, Send)]
        assert not any(isinstance(s.message, Advert) for s in quiet)
        assert Send("p", Advert({})) in n.tick(T0 + expected)


def test_next_deadline_follows_the_nearest_timer() -> None:
    n = node()
    assert n.next_deadline_ms() is None
    n.add_peer("p", T0)
    assert n.next_deadline_ms() == T0 + FAST.heartbeat_interval_ms


def test_status_counts_what_each_side_lacks() -> None:
    n, _ = linked({"me": 5, "x": 2}, {"p": 3, "x": 4})
    (status,) = n.status()
    assert (status.up, status.origin) == (True, "p")
    assert (status.we_lack, status.they_lack) == (5, 5)


def test_three_hosts_converge_through_dropped_pushes() -> None:
    net = SimNet(["a", "b", "c"], seed=1)
    net.start()
    net.drain()
    for _ in range(30):
        for host in net.hosts.values():
            host.write()
    net.in_flight.clear()  # every push lost
    assert not net.converged()
    net.settle()
    assert all(len(h.log.events()) == 90 for h in net.hosts.values())


def test_a_host_far_ahead_is_refused_then_accepted_once_clocks_allow() -> None:
    net = SimNet(["a", "b"], seed=2)
    net.hosts["b"].skew_ms = 2000
    net.start()
    net.drain()
    net.hosts["b"].write()
    net.drain()
    a = net.hosts["a"]
    assert a.log.vector() == {}
    assert any(n.code == "clock_ahead" for n in a.notices)
    waited = net.settle()
    assert 2000 - 500 <= waited <= 2000
    assert a.log.vector() == {"b": 1}


def test_relay_reaches_a_host_cut_off_from_the_origin() -> None:
    net = SimNet(["a", "b", "c"], seed=3)
    net.start()
    net.drain()
    net.cut.add(frozenset(("a", "c")))
    for _ in range(10):
        net.hosts["a"].write()
    for _ in range(20):
        net.drain()
        net.advance(100)
    assert len(net.hosts["c"].log.events()) == 10


def test_an_empty_batch_is_not_asked_again_until_the_next_advert() -> None:
    n, actions = linked(peer_vector={"p": 3})
    (req,) = requests(actions)
    assert n.receive("p", Batch(req.request_id, (), more=True), T0) == []
    assert requests(n.tick(T0 + 1)) == []
    assert len(requests(n.receive("p", Advert({"p": 3}), T0 + 2))) == 1


def test_a_failed_read_answers_with_an_empty_final_batch() -> None:
    n, _ = linked({"me": 5})
    (read,) = n.receive("p", Request(3, (Range("me", 1, 5),), 4, 1000), T0)
    assert isinstance(read, ReadEvents)
    assert n.read_failed(read.token, T0) == [Send("p", Batch(3, (), more=False))]
    assert n.read_failed(read.token, T0) == []


def test_removing_a_peer_hands_its_ranges_to_the_others() -> None:
    n = node()
    n.add_peer("p", T0)
    n.add_peer("q", T0)
    (req,) = requests(n.receive("p", Hello("p", {"x": 3}), T0))
    assert requests(n.receive("q", Hello("q", {"x": 3}), T0)) == []
    assert n.remove_peer("p") == [PeerDown("p")]
    assert n.remove_peer("p") == []
    assert [r.ranges for r in requests(n.tick(T0 + 1))] == [req.ranges]
    assert n.peers() == ["q"]


def test_adverts_carry_the_wall_clock_and_the_offset_is_measured() -> None:
    ours = SyncNode("me", {}, rng=lambda: 0.5, config=FAST, wall_ms=lambda: 1_000_000)
    ours.add_peer("p", 0)
    ours.receive("p", Hello("them", {}), 0)
    ours.receive("p", Advert({}, wall_ms=1_000_250), 10)
    (status,) = ours.status()
    assert status.clock_offset_ms == 250
    sent = [a.message for a in ours.tick(10_000) if isinstance(a, Send)]
    adverts = [m for m in sent if isinstance(m, Advert)]
    assert all(m.wall_ms == 1_000_000 for m in adverts)


def test_without_a_wall_clock_no_offset_is_claimed() -> None:
    plain = node()
    plain.add_peer("p", 0)
    plain.receive("p", Advert({}, wall_ms=5), 0)
    assert plain.status()[0].clock_offset_ms is None
