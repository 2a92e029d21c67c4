"""The hub: fan-out to bounded subscriptions, lag marking, closing."""

from __future__ import annotations

import trio
import trio.testing

from clare.events import Event
from clare.web.hub import Hub, ViewNotice


def _event(seq: int) -> Event:
    return Event(seq, f"id-{seq}", "origin", seq, seq, "TaskNoted", b"\x80")


async def test_every_subscriber_gets_every_item() -> None:
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


async def test_a_full_subscriber_is_marked_lagged_and_others_go_on() -> None:
    hub = Hub(buffer=1)
    with hub.subscribe() as slow, hub.subscribe() as fast:
        hub.publish_event(_event(1))
        assert (await fast.receive.receive()).seq == 1
        hub.publish_event(_event(2))
        assert slow.lagged
        assert slow.dropped == 1
        assert not fast.lagged
        assert (await fast.receive.receive()).seq == 2
        assert (await slow.receive.receive()).seq == 1


async def test_close_ends_every_subscription_and_later_ones() -> None:
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


async def test_waiting_for_the_views_to_move() -> None:
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
