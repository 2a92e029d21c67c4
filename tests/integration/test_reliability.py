"""The foundation's promises under crashes, concurrency and garbage, with real processes."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import msgpack
import pytest
import zmq

from clare.bus import envelope, rpc
from clare.bus.client import CommandClient
from clare.bus.endpoints import (
    PROJECTOR_CONTROL,
    PROJECTOR_VIEWS,
    WRITER_COMMANDS,
    WRITER_EVENTS,
)
from clare.core.errors import UsageError
from clare.runtime.lock import is_held
from tests.integration.stack import stored_events

if TYPE_CHECKING:
    from tests.integration.stack import Stack


def _client(stack: Stack) -> CommandClient:
    return CommandClient(
        stack.paths.runtime_dir.joinpath(WRITER_COMMANDS).as_uri().replace("file://", "ipc://"),
        timeout_s=2.0,
        attempts=10,
    )


def test_an_acknowledged_command_survives_kill_9_of_the_writer(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    writer = s.node_pid("writer")
    with _client(s) as client:
        result = client.call("task.add", {"project": "alpha", "title": "durable"})
        os.kill(writer, signal.SIGKILL)  # right after the acknowledgement
    s.wait_until(lambda: s.node_pid("writer") not in (0, writer), 20, "writer restarted")
    s.wait_until(s.answering, 20, "writer answering")
    event_ids = {e.id for e in stored_events(s)}
    assert result["events"][0]["id"] in event_ids
    assert s.json("task", "show", result["task"])["title"] == "durable"


def test_ten_concurrent_clients_lose_and_duplicate_nothing(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    acknowledged: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            with _client(s) as client:
                for i in range(40):
                    result = client.call("task.add", {"project": "alpha", "title": f"c{n}-{i}"})
                    with lock:
                        acknowledged.append(result["events"][0]["id"])
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(acknowledged) == 400
    stored = [e for e in stored_events(s) if e.kind == "TaskCreated"]
    assert sorted(e.id for e in stored) == sorted(acknowledged)
    titles = [t["title"] for t in s.json("task", "list")]
    assert len(titles) == len(set(titles)) == 400


def test_projector_killed_at_random_points_ends_equal_to_a_rebuild(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    stop = threading.Event()

    def write() -> None:
        with _client(s) as client:
            i = 0
            while not stop.is_set():
                client.call("task.add", {"project": "alpha", "title": f"t{i}"})
                i += 1

    writer_thread = threading.Thread(target=write)
    writer_thread.start()
    rng = random.Random(7)
    try:
        for _ in range(4):
            time.sleep(rng.uniform(0.05, 0.4))
            pid = s.node_pid("projector")
            if pid:
                os.kill(pid, signal.SIGKILL)
            s.wait_until(lambda old=pid: s.node_pid("projector") not in (0, old), 30, "restart")
    finally:
        stop.set()
        writer_thread.join()
    # Once the projector has caught up, its views equal a rebuild.
    s.wait_until(lambda: s.json("status")["nodes"]["projector"]["answering"], 30, "projector up")
    total = len(stored_events(s))
    s.wait_until(
        lambda: s.json("status")["nodes"]["projector"].get("position") == total, 30, "caught up"
    )
    verify = s.clare("verify", check=False)
    assert verify.returncode == 0, verify.stdout


def _garbage_frames() -> list[list[bytes]]:
    rng = random.Random(3)
    return [
        [b""],
        [b"\xff" * 10],
        [bytes(rng.getrandbits(8) for _ in range(200))],
        [msgpack.packb({"v": 1, "t": "cmd", "id": "x"})[:-3]],  # truncated
        [b"\x91" * 50_000 + b"\xc0"],  # deeply nested
        [msgpack.packb({"v": 1, "t": "cmd", "id": "x", "op": "task.add", "args": {"title": 5}})],
        [
            msgpack.packb(
                {"v": 1, "t": "cmd", "id": "y", "op": "ingest", "args": {"events": [[1, 2]]}}
            )
        ],
        [b"a", b"b", b"c"],  # extra frames
        [b"\x00" * (envelope.MAX_FRAME_BYTES + 10)],  # oversized: refused by MAXMSGSIZE
    ]


def test_garbage_on_every_bound_socket_kills_no_node(running: Stack) -> None:
    s = running
    pids = {name: s.node_pid(name) for name in ("writer", "projector")}
    ctx = zmq.Context.instance()
    runtime = s.paths.runtime_dir
    for name in (WRITER_COMMANDS, PROJECTOR_CONTROL):
        for frames in _garbage_frames():
            dealer = ctx.socket(zmq.DEALER)
            dealer.setsockopt(zmq.LINGER, 0)
            dealer.connect(f"ipc://{runtime / name}")
            dealer.send_multipart(frames)
            dealer.poll(200)
            dealer.close()
    for name in (WRITER_EVENTS, PROJECTOR_VIEWS):
        xsub = ctx.socket(zmq.XSUB)
        xsub.setsockopt(zmq.LINGER, 0)
        xsub.connect(f"ipc://{runtime / name}")
        for frames in _garbage_frames()[:6]:
            xsub.send_multipart(frames)
        time.sleep(0.1)
        xsub.close()
    # Raw bytes that are not even ZeroMQ, on every socket file.
    for name in (WRITER_COMMANDS, PROJECTOR_CONTROL, WRITER_EVENTS, PROJECTOR_VIEWS):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(str(runtime / name))
        raw.sendall(b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)) * 4)
        raw.close()
    time.sleep(0.3)
    assert {name: s.node_pid(name) for name in pids} == pids
    # A malformed command gets a typed error back, and real commands still work.
    with _client(s) as client:
        with pytest.raises(UsageError, match="project must be text"):
            client.send(rpc.Request.new("task.add", {"project": 5}))
        assert client.call("project.add", {"name": "after"})["project"] == "after"
    assert s.json("project", "show", "after")["name"] == "after"


def test_supervisor_restarts_a_dead_node_and_refuses_a_second_up(running: Stack) -> None:
    s = running
    second = s.clare("up", check=False, timeout=20)
    assert second.returncode == 1
    assert "already running" in second.stderr
    projector = s.node_pid("projector")
    os.kill(projector, signal.SIGKILL)
    s.wait_until(lambda: s.node_pid("projector") not in (0, projector), 20, "projector restarted")
    status = s.json("status")
    assert status["nodes"]["projector"]["restarts"] >= 1
    node = s.clare("node", "writer", check=False, timeout=20)
    assert node.returncode == 1
    assert "already running" in node.stderr


def test_sigterm_stops_every_node(running: Stack) -> None:
    s = running
    pids = [s.node_pid("writer"), s.node_pid("projector")]
    assert s.proc is not None
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=15) == 0
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"node {pid} still running after clare up stopped")
    assert not is_held(s.paths.lock_file("writer"))
    assert s.clare("status", "--json").returncode == 0


def test_up_outlives_an_unwritable_terminal(stack: Stack) -> None:
    """`clare up` under a service manager or nohup writes to a log that may sit on
    a full disk. Its own lines ("Clare is up") once raised ENOSPC inside the
    supervisor, which then stopped every node. /dev/full fails every write so."""
    with open("/dev/full", "wb") as full:
        stack.proc = subprocess.Popen(
            [sys.executable, "-m", "clare", "up", "--nodes", "writer,projector"],
            env=stack.env, stdout=full, stderr=full, start_new_session=True,
        )  # fmt: skip
    stack.wait_until(
        lambda: stack.node_pid("projector") and stack.answering(), 20, "writer and projector"
    )
    time.sleep(1.0)  # the supervisor says it is up once every node is ready
    assert stack.proc.poll() is None, "clare up died"
    assert stack.clare("task", "list", "--json").returncode == 0
    assert stack.answering()
    stack.proc.send_signal(signal.SIGTERM)
    assert stack.proc.wait(timeout=15) == 0
