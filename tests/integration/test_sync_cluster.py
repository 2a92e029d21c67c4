"""Three hosts as real processes syncing over loopback, through crashes and a cut link.

a and b talk directly; every link of c goes through a fault-injecting proxy.
Writes happen on all three while b is killed (SIGKILL of its whole stack)
and later restarted, and while c is cut off; c and a also race on one task.
After b is back and c is healed, every host must hold the same events, show
the same tasks (with the same winner of the race and the loser kept as a
conflict), and have views equal to a rebuild.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from tests.sync.cluster import Host, wait_converged
from tests.sync.tcpproxy import TcpProxy

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cls", dir="/tmp"))  # ipc paths must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


def local(host: Host) -> str:
    return f"tcp://127.0.0.1:{host.port}"


async def add_tasks(host: Host, label: str, count: int) -> list[str]:
    return [
        (await host.run("task", "add", f"{label} {i}", "-p", "shared")).strip()
        for i in range(count)
    ]


async def test_three_hosts_converge_through_a_crash_and_a_cut(root: Path) -> None:
    a, b, c = (Host(name, root / name) for name in "abc")
    hosts = [a, b, c]
    for host in hosts:
        await host.init()
    proxies = {  # (from, to) -> proxy forwarding to "to"
        (x.name, y.name): TcpProxy(y.port) for x, y in ((a, c), (c, a), (b, c), (c, b))
    }
    await a.add_peer(b, local(b))
    await b.add_peer(a, local(a))
    for (x, y), proxy in proxies.items():
        src, dst = (next(h for h in hosts if h.name == n) for n in (x, y))
        await src.add_peer(dst, f"tcp://127.0.0.1:{proxy.port}")
    try:
        async with trio.open_nursery() as nursery:
            for proxy in proxies.values():
                await nursery.start(proxy.serve)
            for host in hosts:
                host.start()
            for host in hosts:
                await host.wait_up()
            await a.run("project", "add", "shared")
            await wait_converged(hosts, 15)
            await add_tasks(a, "a", 3)
            await add_tasks(b, "b", 3)
            raced = (await add_tasks(c, "c", 3))[0]
            c_before_cut = (await wait_converged(hosts, 15))[c.machine_id]

            b.kill()
            for proxy in proxies.values():
                proxy.cut()
            await add_tasks(a, "a-during", 5)
            await add_tasks(c, "c-alone", 5)
            # a and c both claim the same task for themselves while they cannot talk.
            await a.run("assign", raced, "--host", "a")
            await c.run("assign", raced, "--host", "c")
            await trio.sleep(1.0)
            assert (await a.vector())[c.machine_id] == c_before_cut  # the cut holds

            b.start()
            await b.wait_up()
            await add_tasks(b, "b-back", 3)
            for proxy in proxies.values():
                proxy.heal()
            await add_tasks(c, "c-healed", 2)

            vector = await wait_converged(hosts, 40)
            assert vector[a.machine_id] >= 1 + 3 + 5 + 1
            assert vector[c.machine_id] >= 3 + 5 + 1 + 2
            listings = [await h.tasks() for h in hosts]
            assert len(listings[0]) == 3 + 3 + 3 + 5 + 5 + 3 + 2
            assert listings[1] == listings[0]
            assert listings[2] == listings[0]
            shown = [await h.json("task", "show", raced) for h in hosts]
            winners = {s["assignee"] for s in shown}
            assert len(winners) == 1
            assert winners <= {"host:a", "host:c"}
            for s in shown:
                assert [c["field"] for c in s["conflicts"]] == ["assignee"]
                assert s["conflicts"] == shown[0]["conflicts"]
            for host in hosts:
                assert (await host.json("verify"))["ok"]
            status = await a.json("sync", "status")
            assert {p["name"]: p["connected"] for p in status["peers"]} == {"b": True, "c": True}
            assert status["refused"] == []
            now = await a.json("sync", "now")
            assert now["settled"]
            nursery.cancel_scope.cancel()
    finally:
        for host in hosts:
            host.stop()


async def test_a_host_with_an_unknown_key_gets_nothing_and_gives_nothing(root: Path) -> None:
    a, intruder = Host("a", root / "a"), Host("x", root / "x")
    for host in (a, intruder):
        await host.init()
    await intruder.add_peer(a, local(a))  # the intruder knows a; a never allowed it
    try:
        for host in (a, intruder):
            host.start()
        for host in (a, intruder):
            await host.wait_up()
        await a.run("project", "add", "secret")
        await intruder.run("project", "add", "planted")
        with trio.fail_after(10):
            while not (await a.json("sync", "status"))["refused"]:
                await trio.sleep(0.2)
        await trio.sleep(1.0)
        assert set(await a.vector()) == {a.machine_id}
        assert set(await intruder.vector()) == {intruder.machine_id}
        projects = [p["name"] for p in await intruder.json("project", "list")]
        assert projects == ["planted"]
        (refusal,) = (await a.json("sync", "status"))["refused"]
        assert refusal["key"] == intruder.public_key
        assert refusal["address"] == "127.0.0.1"
    finally:
        for host in (a, intruder):
            host.stop()
