"""Five hosts form a fleet by invitation alone, and one is put out of it.

b joins through a, c through b, d through a, e through c: no key is copied by
hand. They must converge (each learns the others from the log and links to
them), a spent token must let no one in, and after `clare sync remove e` no
member may store anything e writes.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import trio

from clare.sync.invite import parse_token
from tests.sync.cluster import CliError, Host, wait_converged

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="flt", dir="/tmp"))  # ipc paths must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def invite(host: Host) -> str:
    return (await host.run("sync", "invite", "--ttl", "5m")).strip()


async def members_everywhere(hosts: list[Host], names: set[str], removed: set[str]) -> None:
    seen: dict[str, tuple[set[str], set[str]]] = {}
    with trio.move_on_after(30):
        while True:
            for h in hosts:
                v = await h.json("sync", "members")
                seen[h.name] = (
                    {m["name"] for m in v["members"]},
                    {r["name"] for r in v["removed"]},
                )
            if all(found == (names, removed) for found in seen.values()):
                return
            await trio.sleep(0.25)
    links = {}
    for h in hosts:
        status = await h.json("sync", "status")
        links[h.name] = [(p["name"], p["connected"]) for p in status["peers"]]
    raise AssertionError(
        f"members, removed by host (want {sorted(names)}, {sorted(removed)}): {seen}; "
        f"links: {links}"
    )


async def test_five_hosts_join_by_invitation_and_a_removed_one_is_shut_out(root: Path) -> None:
    hosts = [Host(name, root / name) for name in "abcdex"]
    a, b, c, d, e, x = hosts
    fleet = [a, b, c, d, e]
    for host in hosts:
        await host.init()
    try:
        for host in hosts:
            host.start()
        for host in hosts:
            await host.wait_up()
        await a.run("project", "add", "shared")

        token_b = await invite(a)
        await b.run("sync", "join", token_b)
        await c.run("sync", "join", await invite(b))
        await d.run("sync", "join", await invite(a))
        await e.run("sync", "join", await invite(c))

        # A spent token lets no one in, and is refused and logged by its inviter.
        with pytest.raises(CliError, match="refused"):
            await x.run("sync", "join", token_b)
        # A token altered by hand is refused before it is even sent.
        altered = token_b[:-6] + ("AAAAAA" if not token_b.endswith("AAAAAA") else "BBBBBB")
        with pytest.raises(CliError, match=r"altered|damaged"):
            await x.run("sync", "join", altered)

        await members_everywhere(fleet, set("abcde"), set())
        await wait_converged(fleet, 30)
        await e.run("task", "add", "from e", "-p", "shared")
        await b.run("task", "add", "from b", "-p", "shared")
        vector = await wait_converged(fleet, 30)
        assert set(vector) == {h.machine_id for h in fleet}
        assert x.machine_id not in vector
        for host in fleet:  # every member linked to every other (5 < the bound of 8)
            status = await host.json("sync", "status")
            linked = {p["name"] for p in status["peers"] if p["connected"]}
            assert linked == set("abcde") - {host.name}, (host.name, status["peers"])
        assert set(await x.vector()) <= {x.machine_id}

        await a.run("sync", "remove", "e", "--reason", "laptop lost")
        await members_everywhere(fleet, set("abcd"), {"e"})
        before = (await wait_converged([a, b, c, d], 15))[e.machine_id]
        await e.run("project", "add", "after-removal")
        await e.run("task", "add", "planted", "-p", "shared")
        await trio.sleep(3.0)  # several pushes and anti-entropy rounds
        for host in (a, b, c, d):
            assert (await host.vector()).get(e.machine_id) == before
            names = {p["name"] for p in await host.json("project", "list")}
            assert "after-removal" not in names
            status = await host.json("sync", "status")
            assert "e" not in {p["name"] for p in status["peers"]}
        # e heard of its own removal and dropped every link; a new connection of its
        # key is refused by ZAP, and frames on a connection it had are dropped unread.
        assert (await e.json("sync", "status"))["peers"] == []
        assert (await x.json("sync", "status"))["fleet"]["members"] == []

        # With an invitation open, a token made up by someone without its secret is
        # refused by the inviter (and logged); the real one still lets x in afterwards.
        genuine = parse_token(await invite(a))
        forged = replace(genuine, secret=b"f" * 32).signed().to_text()
        with pytest.raises(CliError, match="does not match"):
            await x.run("sync", "join", forged)
        notices = (await a.json("sync", "status"))["notices"]
        assert any(n["code"] == "join_refused" for n in notices)
        await x.run("sync", "join", genuine.to_text())
        await members_everywhere([a, b, c, d, x], set("abcdx"), {"e"})
    finally:
        for host in hosts:
            host.stop()
