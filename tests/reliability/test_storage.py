"""Storage faults under the writer: a full disk, on a real file system.

The instance lives on a small tmpfs mounted for the test (root may mount; if
not, the test says so and skips). The disk is filled with a file until ENOSPC,
then commands with large bodies are sent until the writer fails. It must
answer with a storage error, acknowledge nothing it did not write, keep what it
stored intact (``PRAGMA integrity_check``), and take commands again as soon as
the space comes back, without a restart.

A read-only file system cannot be made under a running writer (the kernel
refuses to remount read-only while files are open for writing, and root
ignores file modes); the read-only database is covered at the storage edge by
``tests/nodes/test_writer_core.py`` (``PRAGMA query_only``).
"""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from clare.core.errors import StorageError
from clare.store.sqlite import open_reader
from tests.integration.stack import Stack
from tests.reliability.disk import fill, mounted_tmpfs
from tests.reliability.harness import client, stored_events

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow

SIZE = "6m"
BODY = "x" * 60_000


@pytest.fixture
def small_disk() -> Iterator[Path]:
    with mounted_tmpfs(SIZE) as mount:
        yield mount


@pytest.fixture
def on_small_disk(small_disk: Path) -> Iterator[Stack]:
    stack = Stack(small_disk / "h")
    stack.init()
    with open(stack.log, "ab") as log:
        stack.proc = subprocess.Popen(
            [sys.executable, "-m", "clare", "up", "--nodes", "writer,projector"],
            env=stack.env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        stack.wait_until(stack.answering, 30, "writer answering")
        stack.clare("project", "add", "p")
        yield stack
    finally:
        stack.down()


def _integrity(stack: Stack) -> str:
    conn = open_reader(stack.paths.events_db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _add(stack: Stack, titles: list[str], acked: dict[str, str]) -> StorageError | None:
    """Add tasks until one fails with a storage error; record what was acknowledged."""
    with client(stack, timeout_s=5, attempts=1) as c:
        for title in titles:
            try:
                result = c.call("task.add", {"project": "p", "title": title, "body": BODY})
            except StorageError as exc:
                return exc
            acked[title] = result["events"][0]["id"]
    return None


def _check_stored(stack: Stack, acked: dict[str, str], refused: set[str]) -> None:
    created = {str(e.data()["title"]): e.id for e in stored_events(stack)
               if e.kind == "TaskCreated"}  # fmt: skip
    for title, event_id in acked.items():
        assert created.get(title) == event_id
    assert not refused & set(created), "a refused command was stored"


def test_a_full_disk_refuses_acknowledges_nothing_and_recovers(
    on_small_disk: Stack, small_disk: Path, figures: dict[str, Any]
) -> None:
    s = on_small_disk
    writer = s.node_pid("writer")
    acked: dict[str, str] = {}
    _add(s, [f"before-{i}" for i in range(5)], acked)
    assert len(acked) == 5
    filler = fill(small_disk)
    failure = _add(s, [f"full-{i}" for i in range(200)], acked)
    assert failure is not None, "200 commands of 60 kB fit on a full 6 MB disk"
    assert "full" in str(failure).lower() or "disk" in str(failure).lower(), str(failure)
    refused = {f"full-{i}" for i in range(200)} - set(acked)
    # Again while still full: still a clear refusal, not a hang or a crash.
    assert isinstance(_add(s, ["still-full"], acked), StorageError)
    refused.add("still-full")
    assert s.node_pid("writer") == writer
    filler.unlink()
    assert _add(s, [f"after-{i}" for i in range(5)], acked) is None
    assert s.node_pid("writer") == writer  # recovered without a restart
    assert _integrity(s) == "ok"
    _check_stored(s, acked, refused)
    figures["storage_full"] = {"acknowledged": len(acked), "error": str(failure)}
