from __future__ import annotations

import signal
import socket
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
import zmq

from clare.config import Config, Peer
from clare.nodes import run as run_mod
from clare.nodes.lock import NodeLock
from clare.ops.checks import Status
from clare.ops.doctor_nodes import (
    check_endpoints,
    check_node,
    check_nodes,
    check_peer_config,
    check_peers,
    is_curve_public_key,
    parse_tcp_endpoint,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.paths import InstancePaths
    from tests.ops.conftest import Nodes

KEY_A = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
KEY_B = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
CONFIG = Config(machine_id="6f7c904f-df3a-4c9c-a97f-75a53e07e8b3", name="laptop")


def _by_name(paths: InstancePaths) -> dict[str, tuple[Status, str, str]]:
    return {c.name: (c.status, c.summary, c.fix) for c in check_nodes(paths)}


def test_running_nodes_answer_and_own_their_sockets(paths: InstancePaths, nodes: Nodes) -> None:
    writer = nodes.start("writer")
    projector = nodes.start("projector")
    found = _by_name(paths)
    ours = {"node:writer", "endpoints:writer", "node:projector", "endpoints:projector"}
    # Nodes landed later (poller, ...) are checked too; here they are not started.
    assert {f"node:{n}" for n in run_mod.available_nodes()} <= set(found)
    assert all(found[name][0] is Status.OK for name in ours), found
    assert f"pid {writer.pid}" in found["node:writer"][1]
    assert f"pid {projector.pid}" in found["endpoints:projector"][1]


def test_a_stopped_node_is_a_failure_that_says_how_to_start_it(
    paths: InstancePaths, nodes: Nodes
) -> None:
    nodes.start("writer")
    nodes.start("projector")
    nodes.stop("projector")
    check = check_node(paths, "projector")
    assert check.status is Status.FAILURE
    assert "`clare up`" in check.fix
    assert "systemctl --user start clare-projector" in check.fix
    assert check_node(paths, "writer").status is Status.OK


def test_a_killed_node_leaves_sockets_that_are_reported(paths: InstancePaths, nodes: Nodes) -> None:
    nodes.start("writer")
    nodes.stop("writer", signal.SIGKILL)
    check = check_endpoints(paths, "writer")
    assert check is not None
    assert check.status is Status.WARNING
    assert f"rm {paths.runtime_dir / 'writer.cmd'}" in check.fix


def test_a_frozen_node_holds_its_lock_but_does_not_answer(
    paths: InstancePaths, nodes: Nodes
) -> None:
    writer = nodes.start("writer")
    writer.send_signal(signal.SIGSTOP)
    try:
        check = check_node(paths, "writer")
    finally:
        writer.send_signal(signal.SIGCONT)
    assert check.status is Status.FAILURE
    assert "not answering" in check.summary
    assert "journalctl --user -u clare-writer" in check.fix


def test_a_socket_taken_over_by_another_process_is_found(
    paths: InstancePaths, nodes: Nodes
) -> None:
    nodes.start("writer")
    ctx = zmq.Context()
    thief = ctx.socket(zmq.PUB)
    try:
        # A second bind on an ipc path silently replaces the first one's file.
        thief.bind(f"ipc://{paths.runtime_dir / 'writer.pub'}")
        check = check_endpoints(paths, "writer")
    finally:
        thief.close(linger=0)
        ctx.term()
    assert check is not None
    assert check.status is Status.FAILURE
    assert "writer.pub" in check.summary
    assert "another process" in check.summary


def test_a_stopped_node_with_nothing_left_behind_has_no_endpoint_check(
    paths: InstancePaths,
) -> None:
    assert check_endpoints(paths, "projector") is None
    assert [c.name for c in check_nodes(paths)] == [f"node:{n}" for n in run_mod.available_nodes()]


def test_curve_keys_and_tcp_endpoints() -> None:
    assert is_curve_public_key(KEY_A)
    assert not is_curve_public_key(KEY_A[:-1])
    assert not is_curve_public_key("~" * 40)
    assert parse_tcp_endpoint("tcp://10.0.0.2:8766") == ("10.0.0.2", 8766)
    assert parse_tcp_endpoint("tcp://[fd00::2]:8766") == ("fd00::2", 8766)
    assert parse_tcp_endpoint("tcp://server") is None
    assert parse_tcp_endpoint("ipc:///x") is None
    assert parse_tcp_endpoint("tcp://server:99999") is None


@pytest.mark.parametrize(
    ("peer", "found"),
    [
        (Peer("server", "tcp://10.0.0.2:8766", "not-a-key"), "not a CURVE public key"),
        (Peer("server", "10.0.0.2:8766", KEY_B), "not tcp://HOST:PORT"),
        (Peer("server", "tcp://10.0.0.2:8766", KEY_A), "this host's own public key"),
    ],
)
def test_a_wrong_peer_key_or_endpoint_is_a_failure(peer: Peer, found: str) -> None:
    check = check_peer_config(peer, own_keys={KEY_A})
    assert check is not None
    assert check.status is Status.FAILURE
    assert found in check.summary
    assert "clare sync peer add server" in check.fix


def test_peers_are_not_probed_before_there_is_a_gossip_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(run_mod.NODES, "gossip", raising=False)
    config = Config(CONFIG.machine_id, "laptop", peers=(Peer("s", "tcp://10.0.0.2:8766", KEY_B),))
    [check] = check_peers(config, set())
    assert check.status is Status.WARNING
    assert "no gossip node" in check.summary
    assert [c.status for c in check_peers(CONFIG, set())] == [Status.OK]
    assert [c.status for c in check_peers(None, set())] == [Status.WARNING]


@pytest.fixture
def gossip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(run_mod.NODES, "gossip", "clare.nodes.gossip:serve_gossip")


@pytest.fixture
def peer_ports() -> Iterator[tuple[int, int]]:
    """A port that accepts TCP connections, and one that refuses them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_server(("127.0.0.1", 0)) as closed:
            dead_port = closed.getsockname()[1]
        yield listener.getsockname()[1], dead_port


def _config(*peers: Peer) -> Config:
    return Config(CONFIG.machine_id, "laptop", peers=peers)


@pytest.mark.usefixtures("gossip")
def test_without_an_answering_gossip_node_peers_get_a_tcp_probe(
    peer_ports: tuple[int, int],
) -> None:
    port, dead_port = peer_ports
    config = _config(
        Peer("up", f"tcp://127.0.0.1:{port}", KEY_B),
        Peer("down", f"tcp://127.0.0.1:{dead_port}", KEY_B),
    )
    up, down = check_peers(config, set(), status=None)
    assert up.status is Status.WARNING
    assert "authentication not checked" in up.summary
    assert down.status is Status.FAILURE
    assert "wg show" in down.fix


@pytest.mark.usefixtures("gossip")
def test_the_gossip_nodes_view_of_each_link(peer_ports: tuple[int, int]) -> None:
    port, dead_port = peer_ports
    config = _config(
        Peer("fine", f"tcp://127.0.0.1:{port}", KEY_B),
        Peer("skewed", f"tcp://127.0.0.1:{port}", KEY_B),
        Peer("wrongkey", f"tcp://127.0.0.1:{port}", KEY_B),
        Peer("gone", f"tcp://127.0.0.1:{dead_port}", KEY_B),
    )
    status = {
        "peers": [
            {"name": "fine", "connected": True, "clock_ahead": 0, "we_lack": 0, "they_lack": 0},
            {"name": "skewed", "connected": True, "clock_ahead": 3},
            {"name": "wrongkey", "connected": False, "clock_ahead": 0},
        ],
        "refused": [{"address": "10.0.0.9", "key": KEY_A, "count": 2}],
    }
    found = check_peers(config, set(), status)
    by_name = {c.name: c for c in found}
    assert by_name["peer:fine"].status is Status.OK
    assert "authenticated" in by_name["peer:fine"].summary
    assert by_name["peer:skewed"].status is Status.WARNING
    assert "clock" in by_name["peer:skewed"].summary
    assert by_name["peer:wrongkey"].status is Status.FAILURE
    assert "keys may not match" in by_name["peer:wrongkey"].summary
    assert "clare keys show" in by_name["peer:wrongkey"].fix
    assert by_name["peer:gone"].status is Status.FAILURE
    assert "unreachable" in by_name["peer:gone"].summary
    refused = found[-1]
    assert (refused.name, refused.status) == ("peers", Status.WARNING)
    assert f"--key {KEY_A}" in refused.fix


def test_the_web_node_is_probed_on_its_port(
    paths: InstancePaths, peer_ports: tuple[int, int]
) -> None:
    port, dead_port = peer_ports
    with NodeLock(paths.lock_file("web")) as lock:
        lock.acquire("a stand-in web node")
        listening = check_node(paths, "web", replace(CONFIG, web_port=port))
        silent = check_node(paths, "web", replace(CONFIG, web_port=dead_port))
    assert listening.status is Status.OK
    assert f"http://127.0.0.1:{port}" in listening.summary
    assert silent.status is Status.FAILURE
    assert "not listening" in silent.summary


def test_a_node_without_sockets_or_probe_is_judged_by_its_lock(paths: InstancePaths) -> None:
    with NodeLock(paths.lock_file("poller")) as lock:
        lock.acquire("a stand-in poller")
        check = check_node(paths, "poller")
        assert check_endpoints(paths, "poller") is None
    assert check.status is Status.OK
    assert "no probe" in check.summary
