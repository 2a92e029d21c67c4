"""The hub: fan-out to bounded subscriptions, lag marking, closing."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from clare.core.events import Event
from clare.web.hub import (
    MAX_CHANGED,
    Demand,
    Hub,
    Lagged,
    TooManyStreams,
    ViewNotice,
    item_bytes,
    merge_notices,
)


def _event(seq: int) -> Event:
    return Event(seq, f"id-{seq}", "origin", seq, seq, "TaskNoted", b"\x80")


async def test_every_subscriber_gets_every_item(autojump_clock: trio.testing.MockClock) -> None:
    hub = Hub()
    with hub.subscribe() as a, hub.subscribe() as b:
        assert hub.subscribers == 2
        hub.publish_event(_event(1))
        hub.publish_view(ViewNotice(1, {"tasks": ["t-1"]}))
        for sub in (a, b):
            assert (await sub.receive.receive()).seq == 1
            assert (await sub.receive.receive()).position == 1
    assert hub.subscribers == 0
    assert hub.last_seq == 1
    assert hub.view_position == 1


async def test_a_full_subscriber_is_marked_lagged_and_others_go_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(buffer=1)
    with hub.subscribe() as slow, hub.subscribe() as fast:
        hub.publish_event(_event(1))
        assert (await fast.receive.receive()).seq == 1
        hub.publish_event(_event(2))
        assert slow.lagged
        # The overflow empties the queue: the new item and the one waiting are both
        # forgotten (the stream reads them from the store), and their memory with them.
        assert slow.dropped == 2
        assert slow.pending_bytes == 0
        assert not fast.lagged
        assert (await fast.receive.receive()).seq == 2
        # A marker was left in the emptied queue, so the stream wakes to catch up.
        (marker,) = await slow.receive_batch(10)
        assert isinstance(marker, Lagged)
        hub.publish_event(_event(3))
        (third,) = await slow.receive_batch(10)
        assert isinstance(third, Event)
        assert third.seq == 3


def _big(seq: int, size: int) -> Event:
    return Event(seq, f"id-{seq}", "origin", seq, seq, "TaskNoted", b"x" * size)


async def test_a_subscription_is_bounded_in_bytes_not_only_items(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub(buffer=1000, buffer_bytes=64 * 1024)
    with hub.subscribe() as sub:
        for seq in range(1, 4):
            hub.publish_event(_big(seq, 20_000))
        assert not sub.lagged
        assert sub.pending_bytes == 3 * item_bytes(_big(1, 20_000))
        taken = await sub.receive_batch(2)
        assert [e.seq for e in taken] == [1, 2]
        assert sub.pending_bytes == item_bytes(_big(3, 20_000))
        for seq in range(4, 8):  # past 64 KiB waiting
            hub.publish_event(_big(seq, 20_000))
        assert sub.lagged
        assert sub.pending_bytes <= 64 * 1024
        waiting = sub.pending_bytes
        held = sum(item_bytes(e) for e in await sub.receive_batch(100))
        assert held == waiting <= 64 * 1024  # the count matches what is taken
        assert sub.pending_bytes == 0


def test_streams_past_the_cap_are_refused() -> None:
    hub = Hub(max_streams=2)
    with hub.subscribe(), hub.subscribe():
        with pytest.raises(TooManyStreams, match="max_streams"), hub.subscribe():
            pass
        assert hub.subscribers == 2
    with hub.subscribe():
        assert hub.subscribers == 1


async def test_close_ends_every_subscription_and_later_ones(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    with hub.subscribe() as sub:
        hub.close()
        async for _ in sub.receive:
            raise AssertionError("nothing was published")
    with hub.subscribe() as late:
        hub.publish_event(_event(3))  # dropped quietly: the subscription is closed
        with trio.fail_after(1):
            async for _ in late.receive:
                raise AssertionError("a closed hub delivers nothing")


async def test_waiting_for_the_views_to_move(autojump_clock: trio.testing.MockClock) -> None:
    hub = Hub()
    async with trio.open_nursery() as nursery:
        moved = trio.Event()

        async def wait() -> None:
            await hub.wait_view_moved()
            moved.set()

        nursery.start_soon(wait)
        await trio.testing.wait_all_tasks_blocked()
        assert not moved.is_set()
        hub.publish_view(ViewNotice(4))
        with trio.fail_after(1):
            await moved.wait()


async def test_demand_follows_streams_and_waiters(autojump_clock: trio.testing.MockClock) -> None:
    hub = Hub()
    assert (hub.events_demand.count, hub.views_demand.count) == (0, 0)
    async with trio.open_nursery() as nursery:
        woke: list[str] = []

        async def feed(name: str, demand: Demand) -> None:
            await demand.wait()
            woke.append(name)

        nursery.start_soon(feed, "events", hub.events_demand)
        nursery.start_soon(feed, "views", hub.views_demand)
        nursery.start_soon(hub.wait_view_moved)  # an action waiting for its write to show
        await trio.testing.wait_all_tasks_blocked()
        assert woke == ["views"]
        assert (hub.events_demand.count, hub.views_demand.count) == (0, 1)
        with hub.subscribe():
            await trio.testing.wait_all_tasks_blocked()
            assert sorted(woke) == ["events", "views"]
            assert (hub.events_demand.count, hub.views_demand.count) == (1, 2)
        hub.publish_view(ViewNotice(1))
        await trio.testing.wait_all_tasks_blocked()
    assert (hub.events_demand.count, hub.views_demand.count) == (0, 0)


async def test_demand_that_ended_is_waited_for_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    hub = Hub()
    with hub.subscribe():
        pass
    with trio.move_on_after(60) as waited:  # virtual time: the clock jumps to it
        await hub.events_demand.wait()
    assert waited.cancelled_caught


def test_merged_notices_keep_the_furthest_position_and_every_change() -> None:
    one = ViewNotice(3, {"tasks": ["t-1", "t-2"]})
    assert merge_notices([one]) is one
    merged = merge_notices(
        [one, ViewNotice(5, {"tasks": ["t-2", "t-3"], "hosts": ["h"]}), ViewNotice(4)]
    )
    assert merged == ViewNotice(5, {"tasks": ["t-1", "t-2", "t-3"], "hosts": ["h"]})
    many = merge_notices([ViewNotice(i, {"tasks": [f"t-{i}"]}) for i in range(MAX_CHANGED + 5)])
    assert len(many.changed["tasks"]) == MAX_CHANGED
