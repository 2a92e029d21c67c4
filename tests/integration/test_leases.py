"""Claims are leases, on two synced hosts: when a session on b ends, b gives its task
back, and both hosts show the task ready again with the note saying why."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio

from clare.bus.client import CommandClient
from clare.bus.endpoints import WRITER_COMMANDS
from clare.domain.events import SessionObserved
from clare.domain.session_ops import snapshot_dict
from clare.runtime.paths import resolve
from clare.sessions import hooked
from clare.sessions.hooked import hooked_dir
from tests.sync import cluster
from tests.sync.cluster import Host, wait_converged

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

SESSION = "1ea5e000-0000-4000-8000-000000000001"


@pytest.fixture
def root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lse", dir="/tmp"))  # ipc paths must stay short
    # The pollers read an empty Claude Code folder, never the real one of this machine.
    (path / "claude").mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(path / "claude"))
    monkeypatch.setattr(cluster, "NODES", "writer,projector,gossip,poller")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def observe_on(host: Host, pid: int) -> None:
    paths = resolve(host.home)
    hooked.record(hooked_dir(paths.data_dir), pid, SESSION, "/tmp", "", 0)
    snap = SessionObserved(
        session=SESSION, host=host.machine_id, pid=pid, cwd="/tmp", status="busy"
    )
    with CommandClient(f"ipc://{paths.runtime_dir / WRITER_COMMANDS}") as client:
        client.call("session.observe", {"snapshot": snapshot_dict(snap)})


async def wait_task(host: Host, task: str, predicate: Any, what: str) -> dict[str, Any]:
    with trio.fail_after(20):
        while True:
            shown: dict[str, Any] = await host.json("task", "show", task)
            if predicate(shown):
                return shown
            await trio.sleep(0.2)
    raise AssertionError(what)  # pragma: no cover - fail_after raises first


async def test_a_task_held_by_a_session_that_ends_is_ready_again_on_every_host(
    root: Path,
) -> None:
    a, b = Host("a", root / "a"), Host("b", root / "b")
    for host in (a, b):
        await host.init()
    await a.add_peer(b, f"tcp://127.0.0.1:{b.port}")
    await b.add_peer(a, f"tcp://127.0.0.1:{a.port}")
    stand_in = subprocess.Popen(["bash", "-c", "exec -a claude sleep 120"])
    try:
        a.start()
        b.start()
        await a.wait_up()
        await b.wait_up()
        await a.run("project", "add", "shared")
        task = (await a.run("task", "add", "the work", "-p", "shared")).strip()
        await wait_converged([a, b], 15)
        observe_on(b, stand_in.pid)
        await wait_converged([a, b], 15)
        await a.run("assign", task, SESSION)
        await a.run("task", "start", task)
        await wait_converged([a, b], 15)
        await wait_task(b, task, lambda t: t["state"] == "in_progress", "started on b")

        stand_in.kill()
        stand_in.wait()
        for host in (b, a):
            shown = await wait_task(
                host, task, lambda t: t["state"] == "todo" and not t["assignee"], "released"
            )
            assert shown["ready"]
            notes = [e["data"]["text"] for e in shown["history"] if e["kind"] == "TaskNoted"]
            assert notes == [f"released: session {SESSION} ended"]
    finally:
        if stand_in.poll() is None:
            stand_in.kill()
            stand_in.wait()
        a.stop()
        b.stop()
