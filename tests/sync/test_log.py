from __future__ import annotations

from clare.core.events import Event
from clare.core.hlc import HybridClock, pack
from clare.sync.log import MemoryLog
from clare.sync.messages import event_wire_size
from clare.sync.vector import Range


class Time:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def remote(origin: str, seq: int, ms: int, body: bytes = b"\x80") -> Event:
    return Event(0, f"{origin}-{seq}", origin, seq, pack(ms, 0), "Wrote", body)


def make_log(ms: int = 10_000) -> tuple[MemoryLog, Time]:
    time = Time(ms)
    return MemoryLog("here", HybridClock(physical_ms=time, max_offset_ms=500)), time


def test_append_numbers_and_stamps_local_events() -> None:
    log, time = make_log()
    first = log.append("e1", "Wrote", b"\x80")
    time.ms += 1
    second = log.append("e2", "Wrote", b"\x80")
    assert (first.origin_seq, second.origin_seq) == (1, 2)
    assert (first.seq, second.seq) == (1, 2)
    assert first.hlc < second.hlc
    assert log.vector() == {"here": 2}


def test_ingest_sorts_new_duplicate_and_conflicting_events() -> None:
    log, _ = make_log()
    log.append("mine", "Wrote", b"\x80")
    result = log.ingest([remote("b", 1, 9_000), remote("b", 1, 9_000)])
    assert [e.id for e in result.new] == ["b-1"]
    assert result.duplicates == 1
    clash_key = Event(0, "other-id", "b", 1, 5, "Wrote", b"")
    clash_id = Event(0, "b-1", "b", 2, 5, "Wrote", b"")
    forged = Event(0, "forged", "here", 2, 5, "Wrote", b"")
    result = log.ingest([clash_key, clash_id, forged])
    assert result.conflicts == (clash_key, clash_id, forged)
    assert result.new == ()
    assert log.vector() == {"here": 1, "b": 1}


def test_events_above_a_gap_are_stored_but_not_counted() -> None:
    log, _ = make_log()
    result = log.ingest([remote("b", 3, 9_000), remote("b", 1, 9_000)])
    assert len(result.new) == 2
    assert result.vector == {"b": 1}
    assert log.held_above("b") == [3]
    assert log.ingest([remote("b", 2, 9_000)]).vector == {"b": 3}
    assert log.held_above("b") == []


def test_clock_ahead_is_refused_until_local_time_catches_up() -> None:
    log, time = make_log(10_000)
    early = remote("b", 1, 10_800)
    result = log.ingest([early])
    assert result.clock_ahead == (early,)
    assert log.vector() == {}
    assert log.clock.last < early.hlc  # refused stamps do not move the clock
    time.ms = 10_300
    assert [e.id for e in log.ingest([early]).new] == ["b-1"]
    assert log.clock.last > early.hlc


def test_read_stops_at_a_missing_seq_within_a_range() -> None:
    log, _ = make_log()
    log.ingest([remote("b", 1, 9_000), remote("b", 2, 9_000), remote("b", 4, 9_000)])
    log.ingest([remote("c", 1, 9_000)])
    got = log.read([Range("b", 1, 4), Range("c", 1, 1)], 100, 10_000)
    assert [(e.origin, e.origin_seq) for e in got] == [("b", 1), ("b", 2), ("c", 1)]


def test_read_is_bounded_by_count_and_bytes_but_returns_at_least_one() -> None:
    log, _ = make_log()
    log.ingest([remote("b", seq, 9_000, b"x" * 100) for seq in range(1, 11)])
    size = event_wire_size(log.events()[0])
    assert len(log.read([Range("b", 1, 10)], 3, 10_000)) == 3
    assert len(log.read([Range("b", 1, 10)], 100, 2 * size + 1)) == 2
    assert len(log.read([Range("b", 1, 10)], 100, 1)) == 1
