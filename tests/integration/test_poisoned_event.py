"""One poisoned event, passed on by real sync, must not freeze a fresh host's views.

An integer of 2**63 in TaskCreated.priority (and a few other fields) decoded,
then failed the write of its row to SQLite: the projector died, restarted into
the same event, and the views stayed frozen on every host it reached. Here host
a holds such events from a third origin; b, fresh, pairs with a over real
gossip, gets them with the good ones, and must show every good task, set the
bad events aside (status, log, doctor), and pass verify and rebuild.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
import trio

from clare.runtime.paths import resolve
from tests.helpers import call, make_core
from tests.sync.cluster import Host, wait_converged

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

POISONER = "00000000-0000-4000-8000-0000000000ee"
POISONS: list[tuple[str, dict[str, Any]]] = [
    ("TaskCreated", {"task": "t-poison1", "project": "shared", "title": "x", "priority": 2**63}),
    ("TaskEdited", {"task": "t-poison1", "priority": 2**64 - 1}),
    ("SessionObserved", {"session": "s-poison", "host": POISONER, "last_activity": 2**63}),
    ("MessageSent", {"message": "m-poison", "target": "all", "text": "hi", "sent_at": 2**63}),
]


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="poi", dir="/tmp"))  # ipc paths must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


def poison(host: Host) -> None:
    """Store the poisoned events in ``host``'s events DB as its writer's ingest would
    (the stack is down: one writer at a time)."""
    core = make_core(resolve(host.home).events_db, host.machine_id)
    stamp = 1_700_000_000_000 << 16
    wires = [
        [str(uuid.uuid4()), POISONER, n, stamp + n, kind, msgpack.packb(body)]
        for n, (kind, body) in enumerate(POISONS, start=1)
    ]
    assert call(core, "ingest", events=wires)["stored"] == len(POISONS)
    core.conn.close()


async def until(what: str, check: Any, timeout_s: float = 30.0) -> Any:
    with trio.move_on_after(timeout_s):
        while True:
            found = await check()
            if found:
                return found
            await trio.sleep(0.2)
    raise AssertionError(f"not within {timeout_s} s: {what}")


async def test_a_fresh_host_paired_with_a_poisoned_one_keeps_its_views(root: Path) -> None:
    a, b = Host("a", root / "a"), Host("b", root / "b")
    for host in (a, b):
        await host.init()
    await a.add_peer(b, f"tcp://127.0.0.1:{b.port}")
    await b.add_peer(a, f"tcp://127.0.0.1:{a.port}")
    poison(a)
    try:
        a.start()
        await a.wait_up()
        await a.run("project", "add", "shared")
        good = [(await a.run("task", "add", f"good {i}", "-p", "shared")).strip() for i in range(5)]
        b.start()
        await b.wait_up()
        vector = await wait_converged([a, b], 30)
        assert vector[POISONER] == len(POISONS)

        async def b_shows_every_good_task() -> bool:
            return {t["id"] for t in await b.tasks()} == set(good)

        await until("b's views hold every good task", b_shows_every_good_task)
        await b.run("task", "add", "made on b", "-p", "shared")  # the views go on

        async def b_counts_the_poison() -> dict[str, Any] | None:
            status: dict[str, Any] = await b.json("status")
            return status if status.get("set_aside") == len(POISONS) else None

        status = await until("b's status counts the events set aside", b_counts_the_poison)
        assert status["nodes"]["projector"]["restarts"] == 0
        assert status["nodes"]["projector"]["answering"] is True
        aside = await b.json("log", "--set-aside")
        assert sorted(e["kind"] for e in aside) == sorted(k for k, _ in POISONS)
        assert all("out of bounds" in e["set_aside"] for e in aside)
        text = await b.run("log")
        assert "(set aside: TaskCreated.priority" in text
        doctor = json.loads(await b.run("doctor", "--json", check=False))  # may warn of more
        [check] = [c for c in doctor["checks"] if c["name"] == "views-set-aside"]
        assert check["status"] == "warning"
        verify = await b.json("verify")
        assert verify["ok"], verify
        rebuilt = await b.json("rebuild")
        assert rebuilt["position"] >= verify["events"]
        assert {t["title"] for t in await b.tasks()} >= {"good 0", "made on b"}
    finally:
        a.stop()
        b.stop()
