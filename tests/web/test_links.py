"""The gossip node's links, asked over its control socket and shown on the overview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus import rpc
from clare.bus.endpoints import GOSSIP_CONTROL, Endpoints
from clare.bus.zsock import open_socket
from clare.runtime.lock import NodeLock
from clare.runtime.paths import resolve
from clare.web import links as links_mod
from clare.web.links import GossipLinks, NoLinks, summary

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.web.conftest import Web

REPORT = {
    "peers": [
        {
            "name": "beta", "endpoint": "tcp://10.0.0.2:8766", "key": "k", "connected": True,
            "last_contact": "2026-01-01T00:00:00.000+00:00", "we_lack": 3, "they_lack": 0,
        }
    ],
    "totals": {"connected": 1},
    "refused": [{"address": "x"}],
}  # fmt: skip


def test_summary_keeps_what_the_page_shows() -> None:
    shown = summary(REPORT)
    assert shown is not None
    assert shown["links"] == [
        {
            "name": "beta", "endpoint": "tcp://10.0.0.2:8766", "connected": True,
            "last_contact": "2026-01-01T00:00:00.000+00:00", "we_lack": 3, "they_lack": 0,
        }
    ]  # fmt: skip
    assert shown["refused"] == 1
    assert summary(None) is None


async def test_no_gossip_node_means_no_links(home: Path) -> None:
    assert await GossipLinks(resolve(home)).links() is None
    assert await NoLinks().links() is None


async def test_asks_the_running_gossip_node_once_a_second(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = resolve(home)
    paths.ensure_runtime_dir()
    asked = 0

    async def gossip(task_status: trio.TaskStatus[None]) -> None:
        nonlocal asked
        async with open_socket(zmq.ROUTER, bind=Endpoints(paths).ipc(GOSSIP_CONTROL)) as router:
            task_status.started()
            while True:
                identity, frame = await router.recv()
                request = rpc.parse_request(frame)
                asked += 1
                await router.send([identity, rpc.encode_ok(request.id, REPORT)])

    with NodeLock(paths.lock_file("gossip")) as lock:
        lock.acquire("the test's gossip node")
        async with trio.open_nursery() as nursery:
            await nursery.start(gossip)
            source = GossipLinks(paths)
            first = await source.links()
            assert first is not None
            assert first["links"][0]["we_lack"] == 3
            assert await source.links() == first
            assert asked == 1
            monkeypatch.setattr(links_mod, "CACHE_S", 0.0)
            await source.links()
            assert asked == 2
            source.close()
            nursery.cancel_scope.cancel()


async def test_a_silent_gossip_node_costs_one_short_wait(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = resolve(home)
    monkeypatch.setattr(links_mod, "TIMEOUT_S", 0.05)
    with NodeLock(paths.lock_file("gossip")) as lock:
        lock.acquire("a gossip node that does not answer")
        source = GossipLinks(paths)
        with trio.fail_after(2):
            assert await source.links() is None
        source.close()


class Links:
    async def links(self) -> dict[str, Any] | None:
        return summary(REPORT)


def test_the_overview_and_status_show_the_links(web: Web) -> None:
    web.ctx.gossip = Links()
    page = web.client.get("/").text
    assert "Peer links" in page
    assert "tcp://10.0.0.2:8766" in page
    status = web.client.get("/api/v1/status").json()
    assert status["sync"]["gossip"]["links"][0]["name"] == "beta"
    hosts = web.client.get("/api/v1/hosts").json()
    assert hosts["gossip"]["totals"] == {"connected": 1}
