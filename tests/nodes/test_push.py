"""Push through apprise to a receiver on loopback, and the node task that drives it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import trio

from clare.app.push import Notice
from clare.nodes.push import apprise_send, serve_push
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from clare.runtime.paths import InstancePaths


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append(json.loads(raw))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/notify"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def paths(tmp_path: Path) -> InstancePaths:
    home = paths_mod.resolve(tmp_path / "h")
    config_mod.save(home, config_mod.Config(machine_id=HOST, name="laptop"))
    home.data_dir.mkdir(parents=True)
    return home


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


def test_apprise_delivers_a_notice_to_a_json_url(receiver: Receiver) -> None:
    assert apprise_send([receiver.url], Notice("Clare: a session needs you", "Bash on b: ls"))
    (body,) = receiver.bodies
    assert body["title"] == "Clare: a session needs you"
    assert body["message"] == "Bash on b: ls"


def _instance(paths: InstancePaths, **changes: Any) -> config_mod.Config:
    config = config_mod.load(paths).replace(**changes)
    config_mod.save(paths, config)
    return config


async def test_new_decisions_are_pushed_through_the_node_task(
    paths: InstancePaths, receiver: Receiver
) -> None:
    fleet = Fleet(paths.data_dir)
    config = _instance(paths, push_urls=(receiver.url,), push_min_interval_s=0.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(partial_serve(paths, config, read_every_s=0.05))
        await trio.sleep(0.2)  # the first read: nothing pending yet
        fleet.call("decision.ask", session="s1", tool="Bash", summary="make deploy", at=1)
        with trio.fail_after(20):
            while not receiver.bodies:
                await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert "make deploy" in receiver.bodies[0]["message"]


def partial_serve(paths: InstancePaths, config: config_mod.Config, **kw: Any) -> Any:
    async def run(task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        await serve_push(paths, config, task_status=task_status, **kw)

    return run


async def until(what: Any) -> None:
    with trio.fail_after(20):
        while not what():
            await trio.sleep(0.02)


async def test_a_slow_service_delays_pushes_not_reads_and_a_failure_is_survived(
    paths: InstancePaths,
) -> None:
    fleet = Fleet(paths.data_dir)
    fleet.call("host.name", name="laptop")
    config = _instance(paths, push_urls=("json://127.0.0.1:9/",), push_min_interval_s=0.5)
    sent: list[Notice] = []
    release = threading.Event()

    def slow_then_failing(urls: Sequence[str], notice: Notice) -> bool:
        sent.append(notice)
        if len(sent) == 1:
            release.wait(20)
            raise OSError("the service hung up")
        return True

    async with trio.open_nursery() as nursery:
        planner = await nursery.start(
            partial_serve(paths, config, send=slow_then_failing, read_every_s=0.02)
        )
        await until(lambda: planner.started)
        fleet.call("decision.ask", session="s1", tool="Bash", summary="first", at=1)
        await until(lambda: len(sent) == 1)  # being sent, slowly
        fleet.call("decision.ask", session="s2", tool="Bash", summary="second", at=2)
        # Reads go on meanwhile: the second one is known, waiting for the first send.
        await until(lambda: [line for _, line in planner.waiting] == ["Bash on laptop: second"])
        release.set()  # the first send fails; the node goes on
        await until(lambda: len(sent) == 2)
        nursery.cancel_scope.cancel()
    assert [n.body for n in sent] == ["Bash on laptop: first", "Bash on laptop: second"]
