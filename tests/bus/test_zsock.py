from __future__ import annotations

from typing import TYPE_CHECKING

import trio
import zmq

from clare.bus.zsock import open_socket

if TYPE_CHECKING:
    from pathlib import Path


async def test_router_dealer_round_trip_many_messages(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/r.sock"
    async with (
        open_socket(zmq.ROUTER, bind=endpoint) as router,
        open_socket(zmq.DEALER, connect=[endpoint]) as dealer,
        trio.open_nursery() as nursery,
    ):

        async def echo() -> None:
            while True:
                identity, payload = await router.recv()
                await router.send([identity, payload.upper()])

        nursery.start_soon(echo)
        for i in range(500):
            await dealer.send([f"m{i}".encode()])
            assert await dealer.recv() == [f"M{i}".encode()]
        nursery.cancel_scope.cancel()


async def test_pub_sub_delivers_in_order_once_joined(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/p.sock"
    async with (
        open_socket(zmq.PUB, bind=endpoint, options={zmq.SNDHWM: 10_000}) as pub,
        open_socket(
            zmq.SUB, connect=[endpoint], options={zmq.SUBSCRIBE: b"", zmq.RCVHWM: 10_000}
        ) as sub,
    ):
        got: list[bytes] = []
        with trio.fail_after(5):
            # Slow joiner: keep publishing until the subscription is in place.
            while not got:
                pub.send_nowait([b"hello"])
                with trio.move_on_after(0.05):
                    got = await sub.recv()
        assert got == [b"hello"]
        for i in range(1000):
            pub.send_nowait([str(i).encode()])
        received = []
        with trio.fail_after(5):
            while len(received) < 1000:
                frames = await sub.recv()
                if frames != [b"hello"]:
                    received.append(int(frames[0]))
        assert received == list(range(1000))


async def test_a_cancelled_receive_loses_no_message(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/c.sock"
    async with (
        open_socket(zmq.PULL, bind=endpoint) as pull,
        open_socket(zmq.PUSH, connect=[endpoint]) as push,
    ):
        with trio.move_on_after(0.05):
            await pull.recv()  # nothing there: cancelled while waiting
        await push.send([b"after-cancel"])
        with trio.fail_after(5):
            assert await pull.recv() == [b"after-cancel"]


async def test_recv_nowait_returns_none_when_empty(tmp_path: Path) -> None:
    async with open_socket(zmq.PULL, bind=f"ipc://{tmp_path}/n.sock") as pull:
        assert pull.recv_nowait() is None


async def test_recv_waiting_takes_what_is_queued_up_to_a_limit(tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/q.sock"
    async with (
        open_socket(zmq.PULL, bind=endpoint) as pull,
        open_socket(zmq.PUSH, connect=[endpoint]) as push,
    ):
        for i in range(5):
            await push.send([str(i).encode()])
        received = [await pull.recv()]
        with trio.fail_after(5):
            while len(received) < 5:  # messages may still be on their way: never more than 2
                taken = pull.recv_waiting(2)
                assert len(taken) <= 2
                received += taken
                await trio.sleep(0.01)
        assert received == [[str(i).encode()] for i in range(5)]
        assert pull.recv_waiting(2) == []
