"""The gossip node in one process: two hosts, each a real writer and gossip node, over TCP."""

from __future__ import annotations

import functools
import shutil
import socket
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import Endpoints
from clare.nodes import gossip as gossip_mod
from clare.nodes.gossip import Gossip, serve_gossip
from clare.nodes.writer import serve_writer
from clare.ops.checks import Status
from clare.ops.doctor_files import check_slot_conflicts
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod
from clare.runtime.keys import ensure_keypair
from clare.store import eventlog
from clare.sync.config import SyncConfig

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.runtime.paths import InstancePaths

FAST = SyncConfig(
    round_interval_ms=300, heartbeat_interval_ms=200, peer_timeout_ms=1500, reject_backoff_ms=200
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Host:
    name: str
    paths: InstancePaths
    config: config_mod.Config
    public_key: str

    def peer(self) -> config_mod.Peer:
        return config_mod.Peer(
            self.name, f"tcp://127.0.0.1:{self.config.gossip_port}", self.public_key
        )

    def vector(self) -> dict[str, int]:
        conn = eventlog.open_events_reader(self.paths.events_db)
        try:
            return eventlog.version_vector(conn)
        finally:
            conn.close()


@pytest.fixture
def homes() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="clg", dir="/tmp"))  # short: ipc paths are limited
    yield root
    shutil.rmtree(root, ignore_errors=True)


def make_host(root: Path, name: str) -> Host:
    paths = paths_mod.resolve(root / name)
    config, _ = config_mod.init(paths, name=name, gossip_port=free_port())
    keys, _ = ensure_keypair(paths)
    return Host(name, paths, config, keys.public)


def connect(a: Host, b: Host) -> None:
    for host, other in ((a, b), (b, a)):
        peers = (*(p for p in host.config.peers if p.name != other.name), other.peer())
        host.config = config_mod.write_peers(host.paths, peers)


async def start(nursery: trio.Nursery, host: Host) -> Gossip:
    await nursery.start(functools.partial(serve_writer, host.paths, host.config))
    gossip: Gossip = await nursery.start(
        functools.partial(serve_gossip, host.paths, host.config, sync_config=FAST)
    )
    return gossip


async def call(host: Host, op: str, **args: Any) -> dict[str, Any]:
    client = AsyncCommandClient(Endpoints(host.paths).writer_commands)
    try:
        return await client.call(op, args)
    finally:
        client.close()


async def wait_for(predicate: Any, timeout_s: float = 10.0) -> None:
    with trio.fail_after(timeout_s):
        while not predicate():
            await trio.sleep(0.05)


async def test_two_hosts_exchange_events_both_ways(homes: Path) -> None:
    a, b = make_host(homes, "a"), make_host(homes, "b")
    connect(a, b)
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        gb = await start(nursery, b)
        await call(a, "project.add", name="alpha")
        await call(b, "project.add", name="beta")
        await wait_for(lambda: a.vector() == b.vector() and len(a.vector()) == 2)
        # The store has them before the core hears back from the writer.
        await wait_for(lambda: ga.status()["totals"]["events_received"] >= 1)
        status = ga.status()
        (link,) = status["peers"]
        assert (link["name"], link["origin"]) == ("b", b.config.machine_id)
        assert link["connected"]
        assert link["events_received"] >= 1
        assert status["refused"] == []
        assert gb.status()["peers"][0]["events_sent"] >= 1
        nursery.cancel_scope.cancel()


def listening_on(port: int) -> set[str]:
    """The IPv4 addresses a TCP socket of this machine listens on at ``port``."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


async def test_the_gossip_port_listens_on_loopback_unless_told_otherwise(homes: Path) -> None:
    a, b = make_host(homes, "a"), make_host(homes, "b")
    assert a.config.gossip_bind == "127.0.0.1"
    b.config, _ = config_mod.init(b.paths, gossip_bind="*")
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        gb = await start(nursery, b)
        assert listening_on(a.config.gossip_port) == {"127.0.0.1"}
        assert listening_on(b.config.gossip_port) == {"0.0.0.0"}
        assert ga.status()["bind"] == f"tcp://127.0.0.1:{a.config.gossip_port}"
        assert gb.status()["bind"] == f"tcp://*:{b.config.gossip_port}"
        nursery.cancel_scope.cancel()


async def test_an_unknown_key_gets_nothing_and_gives_nothing(homes: Path) -> None:
    a, b = make_host(homes, "a"), make_host(homes, "b")
    # b knows a, but a has never heard of b's key.
    b.config = config_mod.write_peers(b.paths, (a.peer(),))
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        gb = await start(nursery, b)
        await call(a, "project.add", name="alpha")
        await call(b, "project.add", name="beta")
        await wait_for(lambda: ga.status()["refused"] != [])
        await trio.sleep(1.0)
        (refusal,) = ga.status()["refused"]
        assert (refusal["key"], refusal["address"]) == (b.public_key, "127.0.0.1")
        assert b.config.machine_id not in a.vector()
        assert a.config.machine_id not in b.vector()
        assert not gb.status()["peers"][0]["connected"]
        nursery.cancel_scope.cancel()


async def test_peers_added_to_the_config_take_effect_without_restart(homes: Path) -> None:
    a, b = make_host(homes, "a"), make_host(homes, "b")
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        gb = await start(nursery, b)
        await call(a, "project.add", name="alpha")
        assert ga.status()["peers"] == []
        connect(a, b)
        await ga.reload()  # what `clare sync peer add` asks for; b finds it by mtime
        await wait_for(lambda: a.config.machine_id in b.vector())
        moved = await gb.sync_now(5.0)
        assert moved["settled"]
        # Removing the peer stops the link and the allow-list entry.
        a.config = config_mod.write_peers(a.paths, ())
        await ga.reload()
        await wait_for(lambda: ga.status()["peers"] == [])
        nursery.cancel_scope.cancel()


async def test_a_bad_peer_key_in_the_config_only_fails_that_link(homes: Path) -> None:
    a, b = make_host(homes, "a"), make_host(homes, "b")
    connect(a, b)
    wrong = b.peer().replace(key=a.public_key)  # a pins the wrong server key for b
    a.config = config_mod.write_peers(a.paths, (wrong,))
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        await start(nursery, b)
        await call(b, "project.add", name="beta")
        await trio.sleep(1.5)
        # a allows the wrong key for b and pins the wrong server key: no handshake
        # completes in either direction, so nothing moves.
        assert b.config.machine_id not in a.vector()
        assert not ga.status()["peers"][0]["connected"]
        assert ga.handshake_failures["b"] >= 1
        nursery.cancel_scope.cancel()


def stored_at(host: Host, origin: str, origin_seq: int) -> str | None:
    conn = eventlog.open_events_reader(host.paths.events_db)
    try:
        row = conn.execute(
            "SELECT id FROM events WHERE origin = ? AND origin_seq = ?", (origin, origin_seq)
        ).fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


async def test_a_forged_slot_is_refused_visibly_not_silently(homes: Path) -> None:
    """An allowed peer f forges a's next event; b stores it, then meets a's real one.

    The trust model lets f relay any origin's events, so b cannot refuse the
    forgery. But a's real event for that slot can then never reach b: that
    loss must show, on b (which slot, sent by whom) and on a (which peer
    forged its events), while the version vectors alone say all is in sync.
    """
    a, b, f = make_host(homes, "a"), make_host(homes, "b"), make_host(homes, "f")
    connect(a, b)
    connect(b, f)
    connect(a, f)
    origin = a.config.machine_id
    async with trio.open_nursery() as nursery:
        ga, gb, _gf = [await start(nursery, h) for h in (a, b, f)]
        await call(a, "project.add", name="alpha")
        top = a.vector()[origin]  # a's events so far (its start recorded some too)
        await wait_for(lambda: b.vector().get(origin) == top == f.vector().get(origin))
        conn = eventlog.open_events_reader(a.paths.events_db)
        (last,) = eventlog.recent(conn, 1)
        conn.close()
        # f stores a made-up event of a's at a's next slot; its gossip passes it on.
        slot = top + 1
        forged = [str(uuid.uuid4()), origin, slot, last.hlc + 1, last.kind, last.body]
        await call(f, "ingest", events=[forged])
        await wait_for(lambda: stored_at(b, origin, slot) == forged[0])
        # a refuses a forgery of its own slot, and records who sent it.
        await wait_for(lambda: ga.status()["slot_conflicts"]["count"] == 1)
        (on_a,) = ga.status()["slot_conflicts"]["recent"]
        assert (on_a["event_id"], on_a["held_id"]) == (forged[0], "")
        # f sends it to a directly, but b may relay it first: a names whoever brought it.
        bringer = on_a["peer"]
        assert bringer in {"f", "b"}
        # a's real event for that slot reaches b, which already holds the forgery.
        real = await call(a, "project.add", name="beta")
        real_id = real["events"][0]["id"]
        await wait_for(lambda: gb.status()["slot_conflicts"]["count"] >= 1)
        assert stored_at(b, origin, slot) == forged[0]  # the first stored keeps the slot
        by_b = {c["event_id"]: c for c in gb.status()["slot_conflicts"]["recent"]}
        assert by_b[real_id]["held_id"] == forged[0]
        assert (by_b[real_id]["origin"], by_b[real_id]["origin_seq"]) == (origin, slot)
        assert by_b[real_id]["peer"] in {"a", "f"}  # whoever brought it first
        # The vectors agree, as they did when the loss was silent.
        assert a.vector()[origin] == b.vector()[origin] == slot
        assert gb.status()["totals"]["slot_conflicts"] >= 1
        settled = await gb.sync_now(5.0)
        assert settled["slot_conflicts"] >= 1
        nursery.cancel_scope.cancel()
    # The doctor fails on both, and on a names the forger.
    on_b = check_slot_conflicts(b.paths, b.config.machine_id)
    assert on_b.status is Status.FAILURE
    assert "lost to this host" in on_b.summary
    on_a_check = check_slot_conflicts(a.paths, a.config.machine_id)
    assert on_a_check.status is Status.FAILURE
    assert "forgery of this host's own events" in on_a_check.summary
    assert on_a_check.fix.startswith(f"`clare sync peer remove {bringer}`")
    assert check_slot_conflicts(f.paths, f.config.machine_id).status in {
        Status.OK,
        Status.FAILURE,  # f may also have met a's real event after its forgery
    }


async def test_a_peer_written_to_clare_toml_is_taken_up_without_being_told(
    homes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gossip node watches its config folder (inotify): an edit alone adds the peer,
    with no check by the clock (polled only where inotify is missing)."""
    monkeypatch.setattr(gossip_mod, "CONFIG_CHECK_S", 3600.0)
    a, b = make_host(homes, "a"), make_host(homes, "b")
    async with trio.open_nursery() as nursery:
        ga = await start(nursery, a)
        await start(nursery, b)
        assert ga.peers == {}
        connect(a, b)  # writes both clare.toml files, tells neither node
        await wait_for(lambda: "b" in ga.peers)
        await call(b, "project.add", name="beta")
        await wait_for(lambda: b.config.machine_id in a.vector())
        nursery.cancel_scope.cancel()
