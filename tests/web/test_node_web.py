"""The web node for real: hypercorn on a free port, with the writer and projector nodes."""

from __future__ import annotations

import functools
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio
import zmq

from clare.bus import envelope, published
from clare.bus.endpoints import Endpoints
from clare.bus.zsock import open_socket
from clare.core.errors import ConfigError, ProtocolError
from clare.core.events import Event
from clare.nodes import web as web_node
from clare.nodes.projector import serve_projector
from clare.nodes.web import serve_web, view_notice
from clare.nodes.writer import serve_writer
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.web.hub import Hub, ViewNotice

if TYPE_CHECKING:
    from pathlib import Path

    from clare.bus.zsock import TrioSocket

MACHINE = "00000000-0000-4000-8000-0000000000cc"


async def _sse_events(response: httpx.Response, out: list[dict[str, Any]]) -> None:
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                event["received"] = time.monotonic()
                out.append(event)
            event = {}
            continue
        name, _, value = line.partition(": ")
        event[name] = json.loads(value) if name == "data" else value


async def _until(test: Any, timeout_s: float = 5.0) -> None:
    with trio.fail_after(timeout_s):
        while not test():
            await trio.sleep(0.01)


async def test_live_events_disconnects_and_a_fast_stop(home: Path) -> None:
    paths = resolve(home)
    config = Config(machine_id=MACHINE, name="node-test")
    async with trio.open_nursery() as stack:
        await stack.start(serve_writer, paths, config)
        await stack.start(serve_projector, paths, config)
        async with trio.open_nursery() as web:
            urls = await web.start(functools.partial(serve_web, paths, config, port=0))
            base = urls[0]
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                assert (await client.get("/")).status_code == 200
                received: list[dict[str, Any]] = []
                async with (
                    client.stream("GET", "/api/v1/stream") as response,
                    trio.open_nursery() as n,
                ):
                    n.start_soon(_sse_events, response, received)
                    await _until(lambda: any(e.get("event") == "hello" for e in received))
                    sent = time.monotonic()
                    made = await client.post(
                        "/api/v1/projects", json={"name": "live"}, headers={"origin": base}
                    )
                    assert made.status_code == 201
                    await _until(
                        lambda: (
                            any(e.get("event") == "event" for e in received)
                            and any(e.get("event") == "view" for e in received)
                        )
                    )
                    first = next(e for e in received if e.get("event") == "event")
                    assert first["data"]["kind"] == "ProjectCreated"
                    assert int(first["id"]) == made.json()["events"][0]["seq"]
                    assert first["received"] - sent < 1.0
                    status = (await client.get("/api/v1/status")).json()
                    assert status["web"]["streams"] == 1
                    n.cancel_scope.cancel()

                # The client hung up: the server drops the stream at once.
                async def streams() -> int:
                    return int((await client.get("/api/v1/status")).json()["web"]["streams"])

                with trio.fail_after(2):
                    while await streams() != 0:
                        await trio.sleep(0.02)
            # Three open streams, then stop the node: it must not wait on them.
            open_streams = 0

            async def hold(task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
                nonlocal open_streams
                async with (
                    httpx.AsyncClient(base_url=base, timeout=None) as c,
                    c.stream("GET", "/api/v1/stream") as r,
                ):
                    open_streams += 1
                    task_status.started()
                    try:
                        async for _ in r.aiter_raw():
                            pass
                    except httpx.HTTPError:
                        pass

            for _ in range(3):
                await stack.start(hold)
            assert open_streams == 3
            started = time.monotonic()
            web.cancel_scope.cancel()
        stopped = time.monotonic() - started
        assert stopped < 1.0, f"the web node took {stopped:.2f} s to stop"
        stack.cancel_scope.cancel()


async def test_an_action_without_any_stream_still_reads_its_own_write(home: Path) -> None:
    # No browser: the node hears the projector only while the action waits for it.
    paths = resolve(home)
    config = Config(machine_id=MACHINE, name="quiet")
    async with trio.open_nursery() as stack:
        await stack.start(serve_writer, paths, config)
        await stack.start(serve_projector, paths, config)
        urls = await stack.start(functools.partial(serve_web, paths, config, port=0))
        async with httpx.AsyncClient(base_url=urls[0], timeout=5) as client:
            for n in range(5):
                made = await client.post(
                    "/api/v1/projects", json={"name": f"p{n}"}, headers={"origin": urls[0]}
                )
                assert made.status_code == 201
                shown = (await client.get("/api/v1/projects")).json()
                assert f"p{n}" in [p["name"] for p in shown]
                status = (await client.get("/api/v1/status")).json()
                assert status["projects"] == n + 1
                assert status["web"]["view_position"] >= made.json()["events"][0]["seq"]
        stack.cancel_scope.cancel()


async def test_a_token_guards_every_request(home: Path) -> None:
    paths = resolve(home)
    config = Config(machine_id=MACHINE, name="guarded")
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(
            functools.partial(serve_web, paths, config, port=0, token="s3cret-t0ken-of-20ch")
        )
        async with httpx.AsyncClient(base_url=urls[0]) as client:
            refused = await client.get("/api/v1/status")
            assert refused.status_code == 401
            assert "token" in refused.json()["error"]["message"]
            assert (await client.get("/static/clare.css")).status_code == 401
            allowed = await client.get(
                "/api/v1/status", headers={"authorization": "Bearer s3cret-t0ken-of-20ch"}
            )
            # No data yet (the writer never ran): refused politely, not a crash.
            assert allowed.status_code == 503
            assert "clare up" in allowed.json()["error"]["message"]
        nursery.cancel_scope.cancel()


async def test_binding_off_loopback_needs_a_token(home: Path) -> None:
    config = Config(machine_id=MACHINE, name="open")
    with pytest.raises(ConfigError, match="token"):
        await serve_web(resolve(home), config, host="0.0.0.0", port=0)


def test_view_notices_are_checked() -> None:
    notice = view_notice({"position": 7, "changed": {"tasks": ["t-1"], "odd": 3}})
    assert notice.position == 7
    assert notice.changed == {"tasks": ["t-1"]}
    with pytest.raises(ProtocolError):
        view_notice({"position": "x"})
    with pytest.raises(ProtocolError):
        view_notice({"position": 1, "changed": []})


async def test_the_event_feed_listens_only_while_a_stream_is_open(home: Path) -> None:
    paths = resolve(home)
    paths.ensure_runtime_dir()
    endpoints = Endpoints(paths)
    hub = Hub()

    async def publish(pub: TrioSocket, seq: int) -> None:
        event = Event(seq, f"id-{seq}", MACHINE, seq, seq, "TaskNoted", b"\x80")
        await pub.send([published.event_topic(event.kind), published.encode_event(event)])

    async with (
        open_socket(zmq.PUB, bind=endpoints.writer_events) as pub,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(web_node._feed_events, endpoints, hub)
        for seq in (1, 2, 3):
            await publish(pub, seq)
        await trio.sleep(0.2)
        assert hub.last_seq == 0  # no stream: the feed never subscribed
        with hub.subscribe() as sub, trio.fail_after(5):
            seq = 10
            # A subscription takes effect a moment after it is made.
            while hub.last_seq == 0:
                await publish(pub, seq)
                seq += 1
                await trio.sleep(0.01)
            assert (await sub.receive.receive()).seq >= 10
        # The stream closed: the next burst is the feed's last before it unsubscribes.
        await publish(pub, 100)
        with trio.fail_after(5):
            while hub.last_seq < 100:
                await trio.sleep(0.01)
        await trio.sleep(0.2)
        await publish(pub, 101)
        await trio.sleep(0.2)
        assert hub.last_seq == 100
        nursery.cancel_scope.cancel()


async def test_view_notices_arriving_together_go_out_merged(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough that the ten notices below surely arrive within one rest.
    monkeypatch.setattr(web_node, "VIEW_COALESCE_S", 0.3)
    paths = resolve(home)
    paths.ensure_runtime_dir()
    endpoints = Endpoints(paths)
    hub = Hub()
    seen: list[ViewNotice] = []
    real = hub.publish_view

    def record(notice: ViewNotice) -> None:
        seen.append(notice)
        real(notice)

    hub.publish_view = record  # type: ignore[method-assign]

    async def notify(pub: TrioSocket, position: int) -> None:
        changed = {"tasks": [f"t-{position}"]}
        frame = envelope.encode(envelope.VIEW, {"position": position, "changed": changed})
        await pub.send([b"view", frame])

    async with (
        open_socket(zmq.PUB, bind=endpoints.projector_views) as pub,
        trio.open_nursery() as nursery,
    ):
        await nursery.start(web_node._feed_views, endpoints, hub)
        await notify(pub, 1)
        await trio.sleep(0.2)
        assert seen == []  # nothing waits on the views: the feed never subscribed
        hub.views_demand.add()
        with trio.fail_after(5):
            position = 10
            while not seen:
                await notify(pub, position)
                position += 1
                await trio.sleep(0.05)
        await trio.sleep(0.1)
        before = len(seen)
        for n in range(100, 110):
            await notify(pub, n)
        with trio.fail_after(5):
            while seen[-1].position < 109:
                await trio.sleep(0.01)
        burst = seen[before:]
        assert len(burst) <= 2  # ten notices, at most the first alone and the rest merged
        assert sorted(t for n in burst for t in n.changed["tasks"]) == [
            f"t-{n}" for n in range(100, 110)
        ]
        hub.views_demand.remove()
        nursery.cancel_scope.cancel()
