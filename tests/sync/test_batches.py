from __future__ import annotations

from clare.core.events import Event
from clare.sync.batches import check_batch, request_size, served_to, split
from clare.sync.config import SyncConfig
from clare.sync.messages import Batch, event_wire_size
from clare.sync.peer import Pending
from clare.sync.vector import Range


def ev(origin: str, seq: int, body: bytes = b"") -> Event:
    return Event(0, f"{origin}-{seq}", origin, seq, seq, "K", body)


def test_served_to_reads_the_batch_as_a_prefix_of_the_range() -> None:
    events = [ev("a", 3), ev("a", 4), ev("b", 1)]
    assert served_to(Range("a", 3, 9), events) == 4
    assert served_to(Range("c", 1, 2), events) == 0


def test_check_batch_accepts_only_what_was_asked_once() -> None:
    pending = Pending((Range("a", 1, 3),), 2, 0)
    assert check_batch(Batch(1, (ev("a", 1), ev("a", 2)), False), pending) is None
    assert check_batch(Batch(1, (ev("a", 1), ev("a", 2), ev("a", 3)), False), pending)
    assert check_batch(Batch(1, (ev("a", 4),), False), pending)
    assert check_batch(Batch(1, (ev("b", 1),), False), pending)
    assert check_batch(Batch(1, (ev("a", 1), ev("a", 1)), False), pending)


def test_check_batch_looks_at_every_range_of_an_origin() -> None:
    pending = Pending((Range("a", 1, 2), Range("b", 5, 5), Range("a", 7, 8)), 10, 0)
    fits = (ev("a", 1), ev("a", 2), ev("b", 5), ev("a", 7), ev("a", 8))
    assert check_batch(Batch(1, fits, False), pending) is None
    for outside in (ev("a", 3), ev("a", 6), ev("a", 9), ev("b", 4), ev("b", 6), ev("c", 1)):
        assert check_batch(Batch(1, (*fits[:2], outside), False), pending)


def test_split_bounds_count_and_bytes_and_never_leaves_an_event_out() -> None:
    small = [ev("a", s) for s in range(1, 6)]
    assert [len(p) for p in split(small, 2, 10_000)] == [2, 2, 1]
    size = event_wire_size(small[0])
    assert [len(p) for p in split(small, 100, 2 * size)] == [2, 2, 1]
    big = ev("a", 9, b"x" * 1000)
    assert split([big, small[0]], 100, 10) == [(big,), (small[0],)]
    assert split([], 3, 3) == []


def _batch(n: int, body_bytes: int, more: bool) -> Batch:
    return Batch(1, tuple(ev("a", s, b"x" * body_bytes) for s in range(1, n + 1)), more)


def test_a_batch_cut_at_the_byte_bound_sets_the_next_request_size() -> None:
    cfg = SyncConfig(batch_max_events=100, batch_max_bytes=10_000)
    # 30 events of about 300 bytes: the peer stopped at its byte bound.
    assert request_size(100, 100, 100, _batch(30, 270, more=True), cfg) == (30, 100)
    # A batch of what was asked, or the end of the ranges: nothing learnt.
    assert request_size(30, 100, 30, _batch(30, 270, more=True), cfg) == (30, 100)
    assert request_size(100, 100, 100, _batch(7, 270, more=False), cfg) == (100, 100)


def test_a_batch_cut_well_under_the_byte_bound_caps_the_request_size() -> None:
    """The peer bounds events per batch lower than we do: asking for more only
    leaves tails to fetch later, out of order."""
    cfg = SyncConfig(batch_max_events=100, batch_max_bytes=10_000)
    assert request_size(100, 100, 100, _batch(25, 10, more=True), cfg) == (25, 25)
    assert request_size(25, 25, 25, _batch(25, 10, more=True), cfg) == (25, 25)


def test_the_request_size_doubles_back_while_full_batches_are_small() -> None:
    cfg = SyncConfig(batch_max_events=100, batch_max_bytes=10_000)
    assert request_size(30, 100, 30, _batch(30, 10, more=True), cfg) == (60, 100)
    assert request_size(60, 100, 60, _batch(60, 10, more=False), cfg) == (100, 100)
    # Half the byte bound or more: growing would cut the next batch again.
    assert request_size(30, 100, 30, _batch(30, 200, more=True), cfg) == (30, 100)
    # A batch asked for at an older, larger size says nothing about growing.
    assert request_size(30, 100, 100, _batch(100, 10, more=True), cfg) == (30, 100)
