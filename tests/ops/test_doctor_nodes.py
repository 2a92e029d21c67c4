from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import zmq

from clare.ops.checks import Status
from clare.ops.doctor_nodes import (
    check_endpoints,
    check_node,
    check_nodes,
)
from clare.runtime import node_names
from clare.runtime.config import Config
from clare.runtime.lock import NodeLock

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths
    from tests.ops.conftest import Nodes

CONFIG = Config(machine_id="6f7c904f-df3a-4c9c-a97f-75a53e07e8b3", name="laptop")


def _by_name(paths: InstancePaths) -> dict[str, tuple[Status, str, str]]:
    return {c.name: (c.status, c.summary, c.fix) for c in check_nodes(paths)}


def test_running_nodes_answer_and_own_their_sockets(paths: InstancePaths, nodes: Nodes) -> None:
    writer = nodes.start("writer")
    projector = nodes.start("projector")
    found = _by_name(paths)
    ours = {"node:writer", "endpoints:writer", "node:projector", "endpoints:projector"}
    # Nodes landed later (poller, ...) are checked too; here they are not started.
    assert {f"node:{n}" for n in node_names.START_ORDER} <= set(found)
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
    assert [c.name for c in check_nodes(paths)] == [f"node:{n}" for n in node_names.START_ORDER]


def test_the_web_node_is_probed_on_its_port(
    paths: InstancePaths, peer_ports: tuple[int, int]
) -> None:
    port, dead_port = peer_ports
    with NodeLock(paths.lock_file("web")) as lock:
        lock.acquire("a stand-in web node")
        listening = check_node(paths, "web", CONFIG.replace(web_port=port))
        silent = check_node(paths, "web", CONFIG.replace(web_port=dead_port))
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
