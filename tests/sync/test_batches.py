from __future__ import annotations

from clare.events import Event
from clare.sync.batches import check_batch, served_to, split
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
