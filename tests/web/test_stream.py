"""The SSE endpoint, driven as an ASGI app: replay, live, gaps, lag, disconnect, shutdown."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import trio
import trio.testing

from clare.web import stream as stream_mod
from clare.web.hub import Hub
from clare.web.stream import EventStream
from tests.web.conftest import make_web

if TYPE_CHECKING:
    from pathlib import Path

    from tests.web.conftest import Web


class Client:
    """One SSE client: collects what the app sends, and can hang up."""

    def __init__(self) -> None:
        self.body = b""
        self.started: dict[str, Any] | None = None
        self.finished = False
        self.gone = trio.Event()
        self.arrived = trio.Event()

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = message
        else:
            self.body += message.get("body", b"")
            self.finished = not message.get("more_body", False)
        self.arrived.set()
        self.arrived = trio.Event()

    def messages(self) -> list[dict[str, Any]]:
        found = []
        for block in self.body.decode().split("\n\n"):
            fields: dict[str, Any] = {}
            for line in block.splitlines():
                name, _, value = line.partition(": ")
                fields[name] = value
            if "data" in fields:
                fields["data"] = json.loads(fields["data"])
                found.append(fields)
            elif fields:
                found.append(fields)
        return found

    def event_ids(self) -> list[int]:
        return [int(m["id"]) for m in self.messages() if m.get("event") == "event"]

    async def wait_for(self, test: Any, timeout_s: float = 5.0) -> None:
        with trio.fail_after(timeout_s):
            while not test(self):
                await self.arrived.wait()


def _scope(last_event_id: int | None = None, after: int | None = None) -> dict[str, Any]:
    headers = [(b"last-event-id", str(last_event_id).encode())] if last_event_id else []
    return {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/stream",
        "headers": headers,
        "query_string": f"after={after}".encode() if after is not None else b"",
    }


@pytest.fixture
def web_ctx(home: Path) -> Any:
    made = make_web(home)
    yield made
    made.writer.close()


def _seed(web: Web, n: int) -> list[int]:
    web.writer.call_sync("project.add", {"name": "s"})
    return [
        web.writer.call_sync("task.add", {"project": "s", "title": f"t{i}"})["events"][0]["seq"]
        for i in range(n)
    ]


async def test_resumes_from_last_event_id_then_goes_live(web_ctx: Web) -> None:
    seqs = _seed(web_ctx, 3)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx), _scope(last_event_id=seqs[0]), client.receive, client.send
        )
        await client.wait_for(lambda c: len(c.event_ids()) == 2)
        assert client.started is not None
        assert (b"content-type", b"text/event-stream; charset=utf-8") in client.started["headers"]
        assert client.event_ids() == seqs[1:]
        more = web_ctx.writer.call_sync("task.add", {"project": "s", "title": "live"})
        await client.wait_for(
            lambda c: (
                len(c.event_ids()) == 3 and any(m.get("event") == "view" for m in c.messages())
            )
        )
        assert client.event_ids()[-1] == more["events"][0]["seq"]
        last = [m for m in client.messages() if m.get("event") == "event"][-1]
        assert last["data"]["kind"] == "TaskCreated"
        assert last["data"]["data"]["title"] == "live"
        client.gone.set()
    assert web_ctx.ctx.hub.subscribers == 0


async def test_without_a_position_starts_at_the_newest_event(web_ctx: Web) -> None:
    _seed(web_ctx, 2)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(EventStream(web_ctx.ctx), _scope(), client.receive, client.send)
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        assert client.event_ids() == []
        assert client.body.startswith(b"retry: ")
        client.gone.set()


async def test_a_gap_on_the_bus_is_filled_from_the_store(web_ctx: Web) -> None:
    seqs = _seed(web_ctx, 1)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx), _scope(after=seqs[-1]), client.receive, client.send
        )
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        web_ctx.writer.publish = False  # the bus drops these
        dropped = web_ctx.writer.call_sync("task.add", {"project": "s", "title": "dropped"})
        web_ctx.writer.publish = True
        seen = web_ctx.writer.call_sync("task.add", {"project": "s", "title": "seen"})
        await client.wait_for(lambda c: len(c.event_ids()) == 2)
        assert client.event_ids() == [dropped["events"][0]["seq"], seen["events"][0]["seq"]]
        # An event sent again on the bus is not sent twice.
        web_ctx.ctx.hub.publish_event(_stored(web_ctx, seen["events"][0]["seq"]))
        web_ctx.writer.call_sync("task.add", {"project": "s", "title": "after"})
        await client.wait_for(lambda c: len(c.event_ids()) == 3)
        ids = client.event_ids()
        assert ids == sorted(set(ids))
        client.gone.set()


def _stored(web: Web, seq: int) -> Any:
    from clare.store.eventlog import read_after

    (event,) = read_after(web.writer.projection.events, seq - 1, 1)
    return event


async def test_a_slow_client_catches_up_from_the_store(home: Path) -> None:
    web = make_web(home)
    web.ctx.hub = web.writer.hub = Hub(buffer=2)
    seqs = _seed(web, 1)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web.ctx), _scope(after=seqs[-1]), client.receive, client.send
        )
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        # Twenty commands before the stream gets to run: its buffer of two overflows.
        made = [
            web.writer.call_sync("task.add", {"project": "s", "title": f"burst {i}"})
            for i in range(20)
        ]
        await client.wait_for(lambda c: len(c.event_ids()) == 20)
        assert client.event_ids() == [m["events"][0]["seq"] for m in made]
        client.gone.set()
    web.writer.close()


async def test_closing_the_hub_ends_every_stream(web_ctx: Web) -> None:
    clients = [Client(), Client()]
    async with trio.open_nursery() as nursery:
        for client in clients:
            nursery.start_soon(EventStream(web_ctx.ctx), _scope(), client.receive, client.send)
        for client in clients:
            await client.wait_for(lambda c: c.started is not None)
        assert web_ctx.ctx.hub.subscribers == 2
        with trio.fail_after(1):
            web_ctx.ctx.hub.close()
            for client in clients:
                await client.wait_for(lambda c: c.finished)
    assert web_ctx.ctx.hub.subscribers == 0


async def test_idle_streams_get_a_heartbeat(web_ctx: Web) -> None:
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx, heartbeat_s=0.01), _scope(), client.receive, client.send
        )
        await client.wait_for(lambda c: b": ping" in c.body)
        client.gone.set()


async def test_a_client_far_behind_is_told_to_reload(
    web_ctx: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_mod, "MAX_REPLAY", 2)
    seqs = _seed(web_ctx, 4)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx), _scope(last_event_id=1), client.receive, client.send
        )
        await client.wait_for(lambda c: any(m.get("event") == "reset" for m in c.messages()))
        reset = next(m for m in client.messages() if m.get("event") == "reset")
        assert reset["data"]["newest"] == seqs[-1]
        client.gone.set()


async def test_a_position_past_the_newest_is_clamped(web_ctx: Web) -> None:
    seqs = _seed(web_ctx, 1)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx), _scope(last_event_id=10_000), client.receive, client.send
        )
        await client.wait_for(lambda c: c.started is not None)
        more = web_ctx.writer.call_sync("task.add", {"project": "s", "title": "next"})
        await client.wait_for(lambda c: len(c.event_ids()) == 1)
        assert client.event_ids() == [more["events"][0]["seq"]]
        assert seqs[-1] + 1 == more["events"][0]["seq"]
        client.gone.set()


async def test_an_event_missed_while_the_feed_subscribes_is_read_again(
    web_ctx: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_mod, "RECHECK_S", 0.05)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(EventStream(web_ctx.ctx), _scope(), client.receive, client.send)
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        # Committed before the node's new subscription took effect: never on the bus,
        # and no later event shows the gap. Only the stream's second look finds it.
        web_ctx.writer.publish = False
        missed = web_ctx.writer.call_sync("project.add", {"name": "m"})
        await client.wait_for(lambda c: len(c.event_ids()) == 1, timeout_s=2)
        assert client.event_ids() == [missed["events"][0]["seq"]]
        client.gone.set()


async def test_what_waits_in_the_subscription_goes_out_in_one_write(
    web_ctx: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stream's second look at the store would be a wake-up of its own.
    monkeypatch.setattr(stream_mod, "RECHECK_S", 600.0)
    seqs = _seed(web_ctx, 1)
    client = Client()
    writes: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message.get("body"):
            writes.append(message["body"])
        await client.send(message)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(EventStream(web_ctx.ctx), _scope(after=seqs[-1]), client.receive, send)
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        # Not just blocked (a read of the store in a worker thread counts as that,
        # and would find the commits below): waiting on the hub, its replay done.
        (sub,) = web_ctx.writer.hub._subs
        with trio.fail_after(5):
            while sub.receive.statistics().tasks_waiting_receive == 0:
                await trio.sleep(0.001)
        before = len(writes)
        # Five commits while the stream task waits: the hub queues ten items for it.
        made = [
            web_ctx.writer.call_sync("task.add", {"project": "s", "title": f"b{i}"})
            for i in range(5)
        ]
        await client.wait_for(lambda c: len(c.event_ids()) == 5)
        assert client.event_ids() == [m["events"][0]["seq"] for m in made]
        assert len(writes) - before == 1
        assert sum(1 for m in client.messages() if m.get("event") == "view") == 5
        client.gone.set()


class RecordingClient(Client):
    """A client that also keeps the size of every body the app handed over."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            self.writes.append(len(message.get("body", b"")))
        await super().send(message)


def _seed_large(web: Web, n: int, size: int) -> list[int]:
    web.writer.call_sync("project.add", {"name": "big"})
    return [
        web.writer.call_sync("task.add", {"project": "big", "title": f"t{i}", "body": "x" * size})[
            "events"
        ][0]["seq"]
        for i in range(n)
    ]


async def test_a_replay_is_cut_in_bounded_batches_and_writes(web_ctx: Web) -> None:
    seqs = _seed_large(web_ctx, 12, 40_000)
    client = RecordingClient()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web_ctx.ctx, batch_bytes=100_000),
            _scope(last_event_id=seqs[0] - 1),
            client.receive,
            client.send,
        )
        await client.wait_for(lambda c: len(c.event_ids()) == len(seqs))
        assert client.event_ids() == seqs
        # Nearly half a megabyte replayed, never more than one chunk handed over at once.
        assert sum(client.writes) > 480_000
        assert max(client.writes) <= stream_mod.WRITE_CHUNK_BYTES
        client.gone.set()


def test_a_replay_batch_stops_at_its_byte_bound(web_ctx: Web) -> None:
    seqs = _seed_large(web_ctx, 10, 10_000)
    events = web_ctx.writer.projection.events
    after = seqs[0] - 1
    found, complete = stream_mod.read_batch(events, after, 500, 25_000)
    assert [e.seq for e in found] == seqs[:3]  # the third passes 25 kB: the batch ends there
    assert not complete
    found, complete = stream_mod.read_batch(events, after, 4, 10**9)
    assert [e.seq for e in found] == seqs[:4]
    assert not complete
    found, complete = stream_mod.read_batch(events, seqs[-3], 500, 10**9)
    assert [e.seq for e in found] == seqs[-2:]
    assert complete
    # Cut inside a short page: what that page held after the cut is not "the end".
    found, complete = stream_mod.read_batch(events, seqs[-4], 500, 15_000)
    assert [e.seq for e in found] == seqs[-3:-1]
    assert not complete


async def test_streams_past_the_cap_are_told_to_retry(home: Path) -> None:
    web = make_web(home)
    web.ctx.hub = web.writer.hub = Hub(max_streams=1)
    first, second = Client(), Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(EventStream(web.ctx), _scope(), first.receive, first.send)
        await first.wait_for(lambda c: c.started is not None)
        nursery.start_soon(EventStream(web.ctx), _scope(), second.receive, second.send)
        await second.wait_for(lambda c: c.finished)
        assert second.started is not None
        assert second.started["status"] == 503
        assert (b"retry-after", b"5") in second.started["headers"]
        assert json.loads(second.body)["error"]["code"] == "too_many_streams"
        assert first.started is not None
        assert first.started["status"] == 200
        first.gone.set()
    web.writer.close()


async def test_a_lagged_stream_tells_the_page_to_refresh(home: Path) -> None:
    web = make_web(home)
    web.ctx.hub = web.writer.hub = Hub(buffer=2)
    seqs = _seed(web, 1)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web.ctx), _scope(after=seqs[-1]), client.receive, client.send
        )
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        for i in range(10):
            web.writer.call_sync("task.add", {"project": "s", "title": f"burst {i}"})
        await client.wait_for(
            lambda c: any(
                m.get("event") == "view" and "all" in m["data"]["changed"] for m in c.messages()
            )
        )
        await client.wait_for(lambda c: len(c.event_ids()) == 10)
        client.gone.set()
    web.writer.close()


async def test_a_stream_whose_queue_was_emptied_catches_up_without_another_commit(
    home: Path,
) -> None:
    web = make_web(home)
    web.ctx.hub = web.writer.hub = Hub(buffer_bytes=32 * 1024)
    seqs = _seed(web, 1)
    client = Client()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            EventStream(web.ctx, heartbeat_s=3600),
            _scope(after=seqs[-1]),
            client.receive,
            client.send,
        )
        await client.wait_for(lambda c: any(m.get("event") == "hello" for m in c.messages()))
        await trio.sleep(stream_mod.RECHECK_S + 0.1)  # past the stream's one re-read
        # One event larger than the whole queue's bound: offered, it empties the queue
        # and is not kept; nothing is published after it.
        web.writer.publish = False
        made = web.writer.call_sync(
            "task.add", {"project": "s", "title": "large", "body": "x" * 40_000}
        )
        web.ctx.hub.publish_event(_stored(web, made["events"][0]["seq"]))
        # Nothing else is committed and no heartbeat comes: the stream still catches up.
        await client.wait_for(lambda c: len(c.event_ids()) == 1, timeout_s=2)
        client.gone.set()
    web.writer.close()
