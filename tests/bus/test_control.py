from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio
import zmq

from clare.bus.client import CommandClient
from clare.bus.control import serve_control
from clare.core.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.bus import rpc


@pytest.fixture
def endpoint() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="cctl-", dir="/tmp"))  # short: socket paths
    try:
        yield f"ipc://{folder}/ctl"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _handle(request: rpc.Request) -> dict[str, Any]:
    if request.op == "echo":
        return {"args": request.args}
    raise UsageError(f"no such op {request.op!r}")


async def test_answers_results_and_errors_to_the_request_that_asked(endpoint: str) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_control, endpoint, _handle)

        def ask() -> dict[str, Any]:
            with CommandClient(endpoint, timeout_s=2.0, attempts=1) as client:
                result = client.call("echo", {"x": 1})
                # An error must carry the request's id, or the client would wait it out.
                with pytest.raises(UsageError, match="no such op"):
                    client.call("nope")
                return result

        result = await trio.to_thread.run_sync(ask)
        assert result == {"args": {"x": 1}}
        nursery.cancel_scope.cancel()


async def test_garbage_is_answered_and_bare_frames_are_ignored(endpoint: str) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_control, endpoint, _handle)

        def poke() -> list[bytes]:
            sock = zmq.Context.instance().socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(endpoint)
            try:
                sock.send_multipart([b"one", b"two"])  # three frames at the ROUTER
                sock.send(b"not msgpack")
                return [sock.recv() for _ in range(1) if sock.poll(2000)]
            finally:
                sock.close()

        (reply,) = await trio.to_thread.run_sync(poke)
        assert b"err" in reply
        nursery.cancel_scope.cancel()
