from __future__ import annotations

import pytest

from clare.ops.checks import Status
from clare.ops.doctor_peers import (
    check_peer_config,
    check_peer_link,
    check_peers,
    is_curve_public_key,
    parse_tcp_endpoint,
)
from clare.runtime import node_names
from clare.runtime.config import Config, Peer

KEY_A = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
KEY_B = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
CONFIG = Config(machine_id="6f7c904f-df3a-4c9c-a97f-75a53e07e8b3", name="laptop")


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
    monkeypatch.delitem(node_names.NODES, "gossip", raising=False)
    config = Config(
        CONFIG.machine_id,
        "laptop",
        gossip_bind="10.0.0.1",
        peers=(Peer("s", "tcp://10.0.0.2:8766", KEY_B),),
    )
    [check] = check_peers(config, set())
    assert check.status is Status.WARNING
    assert "no gossip node" in check.summary
    assert [c.status for c in check_peers(CONFIG, set())] == [Status.OK]
    assert [c.status for c in check_peers(None, set())] == [Status.WARNING]


def test_a_sync_port_on_loopback_with_peers_elsewhere_is_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(node_names.NODES, "gossip", raising=False)
    remote = Peer("server", "tcp://10.0.0.2:8766", KEY_B)
    config = Config(CONFIG.machine_id, "laptop", peers=(remote,))
    first = check_peers(config, set())[0]
    assert (first.name, first.status) == ("gossip-bind", Status.WARNING)
    assert "127.0.0.1 only" in first.summary
    assert "server" in first.summary
    assert "--gossip-bind" in first.fix
    for fine in (
        Config(CONFIG.machine_id, "laptop", gossip_bind="10.0.0.1", peers=(remote,)),
        Config(CONFIG.machine_id, "laptop", gossip_bind="*", peers=(remote,)),
        Config(CONFIG.machine_id, "laptop", peers=(Peer("s", "tcp://127.0.0.1:9", KEY_B),)),
    ):
        assert "gossip-bind" not in [c.name for c in check_peers(fine, set())]


@pytest.fixture
def gossip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(node_names.NODES, "gossip", "clare.nodes.gossip:serve_gossip")


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


@pytest.mark.parametrize(
    ("offset", "expected", "words"),
    [
        (40, Status.OK, "clock offset 40 ms"),
        (-300, Status.WARNING, "300 ms behind ours"),
        (900, Status.FAILURE, "900 ms ahead of ours"),
    ],
)
def test_the_clock_offset_to_a_peer(offset: int, expected: Status, words: str) -> None:
    peer = Peer("server", "tcp://127.0.0.1:1", KEY_B)
    link = {"connected": True, "clock_ahead": 0, "we_lack": 0, "they_lack": 0}
    found = check_peer_link(peer, {**link, "clock_offset_ms": offset}, max_offset_ms=500)
    assert found.status is expected
    assert words in found.summary
    if expected is not Status.OK:
        assert "timedatectl" in found.fix
