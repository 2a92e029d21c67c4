"""Two hosts with real separate addresses, in Linux network namespaces joined by a veth pair.

The partition is the link itself going down, so the nodes see what they
would see on a real network: silence, then heartbeat timeouts, then (once
the link is back) reconnection. Skips where namespaces cannot be made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from tests.sync.cluster import Host, wait_converged

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

SUBNET = "10.231.{}.{}"


def sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False)


@pytest.fixture
def namespaces() -> Iterator[tuple[str, str, str]]:
    """(namespace a, namespace b, a's veth end) joined at SUBNET; skips if not permitted."""
    tag = f"{os.getpid() % 100_000}"
    ns_a, ns_b, veth_a, veth_b = f"cla{tag}", f"clb{tag}", f"cva{tag}", f"cvb{tag}"
    if shutil.which("ip") is None:
        pytest.skip("no `ip` command (iproute2) here")
    made = sh("ip", "netns", "add", ns_a)
    if made.returncode != 0:
        pytest.skip(f"network namespaces not permitted here: {made.stderr.strip()}")
    net = str(os.getpid() % 250 + 1)
    try:
        sh("ip", "netns", "add", ns_b).check_returncode()
        sh("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b).check_returncode()
        for ns, veth, addr in ((ns_a, veth_a, "1"), (ns_b, veth_b, "2")):
            sh("ip", "link", "set", veth, "netns", ns).check_returncode()
            ip = SUBNET.format(net, addr)
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", veth).check_returncode()
            sh("ip", "-n", ns, "link", "set", veth, "up").check_returncode()
            sh("ip", "-n", ns, "link", "set", "lo", "up").check_returncode()
        yield ns_a, ns_b, veth_a
    finally:
        # Deleting a namespace destroys the veth end inside it, and so the pair.
        sh("ip", "netns", "del", ns_a)
        sh("ip", "netns", "del", ns_b)


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cln", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_hosts_in_namespaces_heal_after_the_link_goes_down(
    namespaces: tuple[str, str, str], root: Path
) -> None:
    ns_a, ns_b, veth_a = namespaces
    net = str(os.getpid() % 250 + 1)
    a = Host("a", root / "a", wrapper=["ip", "netns", "exec", ns_a], bind=SUBNET.format(net, 1))
    b = Host("b", root / "b", wrapper=["ip", "netns", "exec", ns_b], bind=SUBNET.format(net, 2))
    for host in (a, b):
        await host.init()
    await a.add_peer(b, f"tcp://{SUBNET.format(net, 2)}:{b.port}")
    await b.add_peer(a, f"tcp://{SUBNET.format(net, 1)}:{a.port}")
    try:
        for host in (a, b):
            host.start()
        for host in (a, b):
            await host.wait_up()
        await a.run("project", "add", "shared")
        await wait_converged([a, b], 20)

        sh("ip", "-n", ns_a, "link", "set", veth_a, "down").check_returncode()
        for i in range(3):
            await a.run("task", "add", f"a {i}", "-p", "shared")
            await b.run("task", "add", f"b {i}", "-p", "shared")
        await trio.sleep(2.0)
        assert (await b.vector()).get(a.machine_id) != (await a.vector())[a.machine_id]

        sh("ip", "-n", ns_a, "link", "set", veth_a, "up").check_returncode()
        await wait_converged([a, b], 30)
        assert await a.tasks() == await b.tasks()
        assert len(await a.tasks()) == 6
        status = await b.json("sync", "status")
        (link,) = status["peers"]
        assert link["connected"]
        assert link["events_received"] >= 4
    finally:
        for host in (a, b):
            host.stop()
