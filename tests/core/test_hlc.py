from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core import hlc
from clare.core.hlc import ClockAheadError, HybridClock


class ManualClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_pack_and_unpack_round_trip() -> None:
    assert hlc.unpack(hlc.pack(1_700_000_000_000, 42)) == (1_700_000_000_000, 42)


def test_pack_refuses_out_of_range() -> None:
    with pytest.raises(ValueError, match="counter"):
        hlc.pack(1, hlc.COUNTER_MAX + 1)
    with pytest.raises(ValueError, match="milliseconds"):
        hlc.pack(-1, 0)


def test_now_follows_physical_time_and_counts_within_a_millisecond() -> None:
    phys = ManualClock(1000)
    clock = HybridClock(physical_ms=phys)
    assert clock.now() == hlc.pack(1000, 0)
    assert clock.now() == hlc.pack(1000, 1)
    phys.ms = 1005
    assert clock.now() == hlc.pack(1005, 0)


def test_now_never_goes_back_when_the_wall_clock_does() -> None:
    phys = ManualClock(2000)
    clock = HybridClock(physical_ms=phys)
    first = clock.now()
    phys.ms = 1000
    assert clock.now() > first


def test_restore_keeps_stamps_above_the_stored_maximum() -> None:
    clock = HybridClock(physical_ms=ManualClock(10))
    clock.restore(hlc.pack(500, 3))
    assert clock.now() == hlc.pack(500, 4)


def test_counter_overflow_waits_for_the_clock() -> None:
    phys = ManualClock(7)
    waits = []

    def wait() -> None:
        waits.append(1)
        phys.ms += 1

    clock = HybridClock(physical_ms=phys, wait=wait)
    clock.restore(hlc.pack(7, hlc.COUNTER_MAX))
    assert clock.now() == hlc.pack(8, 0)
    assert waits == [1]


def test_receive_moves_past_a_remote_stamp() -> None:
    clock = HybridClock(physical_ms=ManualClock(1000))
    remote = hlc.pack(1200, 5)
    clock.max_offset_ms = 500
    merged = clock.receive(remote)
    assert merged == hlc.pack(1200, 6)
    assert clock.now() > remote


def test_receive_refuses_a_stamp_beyond_the_bound() -> None:
    clock = HybridClock(physical_ms=ManualClock(1000), max_offset_ms=500)
    before = clock.last
    with pytest.raises(ClockAheadError, match="501 ms ahead"):
        clock.receive(hlc.pack(1501, 0))
    assert clock.last == before  # not absorbed


def test_receive_overflow_waits_for_the_clock() -> None:
    phys = ManualClock(50)

    def wait() -> None:
        phys.ms += 1

    clock = HybridClock(physical_ms=phys, wait=wait)
    assert clock.receive(hlc.pack(50, hlc.COUNTER_MAX)) == hlc.pack(51, 0)


steps = st.lists(
    st.tuples(
        st.sampled_from(["tick", "now", "receive"]),
        st.integers(min_value=0, max_value=50),
        st.integers(min_value=-400, max_value=400),
        st.integers(min_value=0, max_value=hlc.COUNTER_MAX),
    ),
    max_size=200,
)


@given(steps)
def test_stamps_strictly_increase_and_stay_close_to_physical_time(
    ops: list[tuple[str, int, int, int]],
) -> None:
    phys = ManualClock(1_000_000)

    def wait() -> None:
        phys.ms += 1

    clock = HybridClock(physical_ms=phys, max_offset_ms=500, wait=wait)
    last = 0
    highest_seen_ms = phys.ms
    for op, advance, offset, counter in ops:
        if op == "tick":
            phys.ms += advance
            continue
        if op == "now":
            stamp = clock.now()
        else:
            remote = hlc.pack(max(0, phys.ms + offset), counter)
            stamp = clock.receive(remote)
            assert stamp > remote
            highest_seen_ms = max(highest_seen_ms, hlc.unpack(remote)[0])
        assert stamp > last
        last = stamp
        highest_seen_ms = max(highest_seen_ms, phys.ms)
        # The logical part never runs ahead of the largest physical time seen
        # (local or a remote stamp within the bound) by more than overflow waits.
        assert hlc.unpack(stamp)[0] <= highest_seen_ms + 1
