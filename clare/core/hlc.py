"""Hybrid logical clock (Kulkarni et al. 2014), pure.

A stamp is one integer: 48 bits of milliseconds since the epoch, then a 16-bit
counter. Integers compare in the order the clock promises, pack small in
msgpack, and sort in SQLite.

The clock reads no time it was not given: ``physical_ms`` is injected, so
tests drive it by hand. When the counter would overflow (65,536 stamps in one
millisecond) the clock does not wrap: it asks the physical clock again until
time moves past the stamp's millisecond, through the injected ``wait`` hook.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.core.errors import ClockError

if TYPE_CHECKING:
    from collections.abc import Callable

COUNTER_BITS = 16
COUNTER_MAX = (1 << COUNTER_BITS) - 1
MS_MAX = (1 << 48) - 1

#: Remote stamps further ahead of local time than this are refused by default.
DEFAULT_MAX_OFFSET_MS = 500


def pack(ms: int, counter: int) -> int:
    if not 0 <= ms <= MS_MAX:
        raise ValueError(f"milliseconds out of range: {ms}")
    if not 0 <= counter <= COUNTER_MAX:
        raise ValueError(f"counter out of range: {counter}")
    return (ms << COUNTER_BITS) | counter


def unpack(stamp: int) -> tuple[int, int]:
    return stamp >> COUNTER_BITS, stamp & COUNTER_MAX


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _sleep_a_little() -> None:
    time.sleep(0.0002)


class ClockAheadError(ClockError):
    """A remote stamp is further ahead of local time than the configured bound."""

    code = "clock_ahead"

    def __init__(self, remote: int, local_ms: int, max_offset_ms: int) -> None:
        self.remote = remote
        self.offset_ms = unpack(remote)[0] - local_ms
        super().__init__(
            f"remote clock is {self.offset_ms} ms ahead of ours (bound {max_offset_ms} ms)"
        )


@dataclass
class HybridClock:
    """One host's clock. Not thread-safe: one owner (the writer) stamps."""

    physical_ms: Callable[[], int] = wall_ms
    max_offset_ms: int = DEFAULT_MAX_OFFSET_MS
    wait: Callable[[], None] = _sleep_a_little
    last: int = 0

    def restore(self, stored_max: int) -> None:
        """Never stamp below what the store already holds (called on start)."""
        self.last = max(self.last, stored_max)

    def now(self) -> int:
        """A stamp for a local event: greater than every stamp seen so far."""
        while True:
            pt = self.physical_ms()
            last_ms, last_c = unpack(self.last)
            if pt > last_ms:
                self.last = pack(pt, 0)
                return self.last
            if last_c < COUNTER_MAX:
                self.last = pack(last_ms, last_c + 1)
                return self.last
            # Counter exhausted within one millisecond: wait for time to move on.
            self.wait()

    def check(self, remote: int) -> None:
        """Refuse a remote stamp too far ahead of local time (raises ClockAheadError)."""
        pt = self.physical_ms()
        if unpack(remote)[0] - pt > self.max_offset_ms:
            raise ClockAheadError(remote, pt, self.max_offset_ms)

    def receive(self, remote: int) -> int:
        """Merge a remote stamp: the result is above both it and every local stamp.

        The remote event keeps its own stamp; this only advances our clock so
        that events we make afterwards sort after it (causality).
        """
        self.check(remote)
        while True:
            pt = self.physical_ms()
            l_ms, l_c = unpack(self.last)
            r_ms, r_c = unpack(remote)
            ms = max(pt, l_ms, r_ms)
            if ms == l_ms == r_ms:
                c = max(l_c, r_c) + 1
            elif ms == l_ms:
                c = l_c + 1
            elif ms == r_ms:
                c = r_c + 1
            else:
                c = 0
            if c <= COUNTER_MAX:
                self.last = pack(ms, c)
                return self.last
            self.wait()
