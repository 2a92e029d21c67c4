from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

import pytest
import zmq

from clare.bus import rpc
from clare.bus.client import CommandClient
from clare.core.errors import NotFound, ServiceUnavailable

if TYPE_CHECKING:
    from pathlib import Path


def _server(endpoint: str, drop_first: int, seen: list[str], stop: threading.Event) -> None:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(endpoint)
    try:
        while not stop.is_set():
            if not sock.poll(50):
                continue
            identity, frame = sock.recv_multipart()
            request = rpc.parse_request(frame)
            seen.append(request.id)
            if len(seen) <= drop_first:
                continue  # lose the request: the client must resend it
            if request.op == "fail":
                reply = rpc.encode_error(request.id, NotFound("no such thing"))
            else:
                reply = rpc.encode_ok(request.id, {"echo": request.args})
            sock.send_multipart([identity, reply])
    finally:
        sock.close(linger=0)


@pytest.fixture
def server(tmp_path: Path):  # type: ignore[no-untyped-def]
    def start(drop_first: int = 0) -> tuple[str, list[str]]:
        endpoint = f"ipc://{tmp_path}/w.sock"
        seen: list[str] = []
        thread = threading.Thread(target=_server, args=(endpoint, drop_first, seen, stop))
        thread.start()
        threads.append(thread)
        return endpoint, seen

    stop = threading.Event()
    threads: list[threading.Thread] = []
    yield start
    stop.set()
    for thread in threads:
        thread.join()


def test_call_returns_the_result(server) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = server()
    with CommandClient(endpoint, timeout_s=2) as client:
        assert client.call("x", {"a": 1}) == {"echo": {"a": 1}}


def test_errors_come_back_typed(server) -> None:  # type: ignore[no-untyped-def]
    endpoint, _ = server()
    with CommandClient(endpoint, timeout_s=2) as client, pytest.raises(NotFound, match="no such"):
        client.call("fail")


def test_lost_request_is_resent_with_the_same_id(server) -> None:  # type: ignore[no-untyped-def]
    endpoint, seen = server(drop_first=2)
    with CommandClient(endpoint, timeout_s=0.2, attempts=3) as client:
        assert client.call("x", {"n": 1}) == {"echo": {"n": 1}}
    assert len(seen) == 3
    assert len(set(seen)) == 1


def test_no_server_is_service_unavailable_naming_clare_up(tmp_path: Path) -> None:
    missing = tmp_path / "w.sock"
    client = CommandClient(f"ipc://{missing}", str(missing), timeout_s=0.1, attempts=1)
    with pytest.raises(ServiceUnavailable, match="clare up"):
        client.call("ping")
    assert not os.path.exists(missing)


def test_silent_server_times_out(tmp_path: Path) -> None:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    sock.bind(f"ipc://{tmp_path}/s.sock")
    try:
        client = CommandClient(f"ipc://{tmp_path}/s.sock", timeout_s=0.05, attempts=2)
        with pytest.raises(ServiceUnavailable):
            client.call("ping")
    finally:
        sock.close(linger=0)


def test_reply_to_returns_the_error_and_none_for_no_answer(  # type: ignore[no-untyped-def]
    server, tmp_path: Path
) -> None:
    # What the hook tells apart: a refused command (final) from one nobody answered.
    endpoint, _ = server()
    with CommandClient(endpoint, timeout_s=2) as client:
        outcome = client.reply_to(rpc.Request.new("fail", {}))
        assert isinstance(outcome, NotFound)
        assert client.reply_to(rpc.Request.new("x", {"a": 1})) == {"echo": {"a": 1}}
    missing = tmp_path / "gone.sock"
    with CommandClient(f"ipc://{missing}", str(missing), timeout_s=0.1, attempts=1) as client:
        assert client.reply_to(rpc.Request.new("ping", {})) is None
