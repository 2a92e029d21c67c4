"""The shared follower: the pure cursor, and the loop over a doorbell that loses and repeats."""

from __future__ import annotations

from collections import deque
from contextlib import aclosing
from typing import Any

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from clare.core.events import Event
from clare.store.follow import MISSED, Admit, FollowCursor, Missed, follow


def _event(seq: int) -> Event:
    return Event(seq, f"id-{seq}", "o", seq, seq, "TaskCreated", b"\x80")


# -- the cursor --------------------------------------------------------------------------


def test_cursor_sends_what_follows_on_and_skips_what_was_sent() -> None:
    cursor = FollowCursor(5)
    assert cursor.admit(6) is Admit.SEND
    assert cursor.admit(5) is Admit.STALE
    assert cursor.admit(2) is Admit.STALE
    assert cursor.admit(8) is Admit.GAP
    cursor.sent(6)
    assert cursor.admit(7) is Admit.SEND


def test_cursor_never_moves_back() -> None:
    cursor = FollowCursor(9)
    cursor.sent(4)
    assert cursor.last == 9
    cursor.skip_to(20)
    assert cursor.admit(21) is Admit.SEND


def test_cursor_is_armed_from_the_start_and_disarmed_by_a_quiet_recheck_that_finds_nothing() -> (
    None
):
    cursor = FollowCursor(0)
    armed = [cursor.armed]  # the slow joiner: the first messages may be lost unseen
    cursor.rechecked(found=True)
    armed.append(cursor.armed)  # a real loss: another may follow
    cursor.rechecked(found=False)
    armed.append(cursor.armed)
    cursor.gap()
    armed.append(cursor.armed)
    assert armed == [True, True, False, True]


# -- the loop, against a scripted doorbell ----------------------------------------------------

#: One step of the writer and the bus: a commit of n events whose message is delivered,
#: lost or delivered twice; a quiet spell; the follower noticing a loss (MISSED).
_commit = st.tuples(
    st.just("commit"), st.integers(1, 3), st.sampled_from(["deliver", "lose", "twice"])
)
_steps = st.lists(
    st.one_of(_commit, st.just(("quiet", 0, "")), st.just(("missed", 0, ""))), max_size=40
)


class _Bus:
    """The store and the doorbell, moved along by the follower's calls to ``ring``."""

    def __init__(self, steps: list[tuple[str, int, str]], burst: int) -> None:
        self.steps = deque(steps)
        self.burst = burst
        self.stored: list[Event] = []
        self.queue: deque[list[Event]] = deque()
        self.reads = 0

    async def ring(self) -> list[Event | Missed]:
        while True:
            if self.queue:
                out: list[Event | Missed] = []
                for _ in range(min(self.burst, len(self.queue))):
                    out.extend(self.queue.popleft())
                return out
            if not self.steps:
                await trio.sleep_forever()
            kind, n, fate = self.steps.popleft()
            if kind == "quiet":
                await trio.sleep(30)
            elif kind == "missed":
                return [MISSED]
            else:
                events = [_event(len(self.stored) + i) for i in range(1, n + 1)]
                self.stored.extend(events)  # committed before it is published
                if fate != "lose":
                    self.queue.append(events)
                if fate == "twice":
                    self.queue.append(events)

    async def read_after(self, seq: int) -> list[Event]:
        self.reads += 1
        await trio.sleep(0)
        return [e for e in self.stored if e.seq > seq][:2]


def _seen_by_the_follower(steps: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """The script as the real bus can make it: a loss goes unseen only in a lossy spell.

    A spell is lossy from the start (the slow joiner), from a loss the follower
    heard of (``missed``: a full queue, a reconnection) or saw (a gap), until a
    quiet spell that hides no loss. Outside one, ZeroMQ loses a message only to
    a full queue or a reconnection, which the follower hears of: such a loss is
    followed by a ``missed``.
    """
    out: list[tuple[str, int, str]] = []
    lossy, hidden = True, False
    for step in steps:
        out.append(step)
        kind, _, fate = step
        if kind == "commit" and fate == "lose":
            if lossy:
                hidden = True
            else:
                out.append(("missed", 0, ""))
                lossy = True
        elif kind == "commit" or kind == "missed":
            lossy = lossy or hidden or kind == "missed"
            hidden = False
        elif hidden:
            hidden = False  # the quiet re-check finds it: the spell goes on
        else:
            lossy = False
    return out


async def _run(bus: _Bus, start: int, recheck_s: float = 1.0) -> list[int]:
    seen: list[int] = []
    with trio.move_on_after(1000):
        async with aclosing(
            follow(bus.ring, bus.read_after, FollowCursor(start), recheck_s=recheck_s)
        ) as items:
            async for batch in items:
                assert batch, "an empty batch wakes the follower for nothing"
                seen.extend(item.seq for item in batch if isinstance(item, Event))
    return seen


@settings(max_examples=300, deadline=None)
@given(steps=_steps, burst=st.integers(1, 4), preloaded=st.integers(0, 5))
def test_every_stored_event_is_delivered_once_in_order(
    steps: list[tuple[str, int, str]], burst: int, preloaded: int
) -> None:
    bus = _Bus(_seen_by_the_follower(steps), burst)
    bus.stored = [_event(i) for i in range(1, preloaded + 1)]
    seen = trio.run(_run, bus, 0, clock=trio.testing.MockClock(autojump_threshold=0))
    assert seen == [e.seq for e in bus.stored]


def test_a_follower_that_starts_late_gets_only_what_comes_after_its_position() -> None:
    bus = _Bus([("commit", 2, "deliver")], 1)
    bus.stored = [_event(i) for i in range(1, 6)]
    seen = trio.run(_run, bus, 3, clock=trio.testing.MockClock(autojump_threshold=0))
    assert seen == [4, 5, 6, 7]


def test_a_quiet_follower_reads_the_store_no_more_once_a_recheck_found_nothing() -> None:
    bus = _Bus([("commit", 1, "deliver")], 1)
    trio.run(_run, bus, 0, clock=trio.testing.MockClock(autojump_threshold=0))
    # The start's read, the one quiet re-check, and nothing more over the remaining
    # virtual thousand seconds.
    assert bus.reads == 2


def test_a_trailing_loss_at_the_start_is_found_by_the_quiet_recheck() -> None:
    # The slow joiner: the only message is lost, and nothing comes after it.
    bus = _Bus([("commit", 2, "lose")], 1)
    seen = trio.run(_run, bus, 0, clock=trio.testing.MockClock(autojump_threshold=0))
    assert seen == [1, 2]


def test_items_of_the_follower_pass_through_in_their_place() -> None:
    async def main() -> list[Any]:
        bursts: deque[list[Event | Missed | str]] = deque(
            [[_event(1), "notice", _event(2)], [_event(4), "ping"]]
        )
        stored = [_event(i) for i in range(1, 5)]

        async def ring() -> list[Event | Missed | str]:
            if not bursts:
                await trio.sleep_forever()
            return bursts.popleft()

        async def read_after(seq: int) -> list[Event]:
            return [e for e in stored if e.seq > seq and e.seq <= 4 and len(bursts) < 2]

        got: list[Any] = []
        cursor = FollowCursor(0, armed=False)
        with trio.move_on_after(10):
            async with aclosing(follow(ring, read_after, cursor)) as items:
                async for batch in items:
                    got.extend(i.seq if isinstance(i, Event) else i for i in batch)
        return got

    got = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    # The start reads nothing (the store "has" nothing yet); 3 is read at the gap before 4.
    assert got == [1, "notice", 2, 3, 4, "ping"]
