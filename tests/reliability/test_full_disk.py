"""A full disk under the views, the hook spool and the readers: waited out, not "repaired".

The instance lives on a small tmpfs mounted for the test. The projector is
held back while events are written, the disk is filled to the last byte, and
the projector is killed, so its restart must write the views on a full disk.
It once took that for damage: it moved the healthy views.db aside on every
restart, `clare status` exited 1, `clare verify` crashed, and the poller
dropped the spooled hook calls the writer could not store. Now: nothing is
set aside, the projector waits in one process, the spool is kept, status and
doctor say the disk is full, and everything resumes once space comes back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clare.sessions import spool
from tests.integration.stack import Stack, stored_events
from tests.reliability.disk import fill, mounted_tmpfs

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

SPOOLED_TITLE = "spooled while the disk was full"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    with mounted_tmpfs("8m") as mount:
        yield mount


def _node_pid(stack: Stack, name: str) -> int:
    """The pid of a node process of this stack (up.json cannot be rewritten on a full disk)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[-3:-1] == [b"node", name.encode()] and str(stack.home).encode() in argv:
            return int(entry.name)
    return 0


def _restarts(stack: Stack, name: str) -> int:
    lines = stack.log.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if "node exited; restarting" in line and f'"{name}"' in line)


def _status(stack: Stack) -> dict[str, object]:
    done = stack.clare("status", "--json", check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert isinstance(data, dict)
    return data


def test_a_full_disk_is_waited_out_and_nothing_is_set_aside(
    small_disk: Path, tmp_path: Path
) -> None:
    s = Stack(small_disk / "h")
    s.log = tmp_path / "up.log"  # off the full disk, so the test can read what happened
    s.env["CLAUDE_CONFIG_DIR"] = str(tmp_path / "claude")
    s.env["CLARE_LOG_LEVEL"] = "INFO"
    s.init()
    with open(s.log, "ab") as log:
        s.proc = subprocess.Popen(
            [sys.executable, "-m", "clare", "up", "--nodes", "writer,projector,poller"],
            env=s.env, stdout=log, stderr=log, start_new_session=True,
        )  # fmt: skip
    try:
        s.wait_until(lambda: s.answering() and _node_pid(s, "projector"), 30, "stack up")
        s.clare("project", "add", "p")
        # A hook call the writer could not take, staged on the same disk to be
        # moved into the spool (a rename needs no free space) once it is full.
        stage = small_disk / "stage"
        spool.append(stage, "spooled-1", "task.add", {"project": "p", "title": SPOOLED_TITLE})
        s.paths.spool_dir.mkdir(mode=0o700, exist_ok=True)

        projector = _node_pid(s, "projector")
        os.kill(projector, signal.SIGSTOP)  # events now wait for it in the events DB
        for i in range(20):
            s.clare("task", "add", "-p", "p", f"unprojected {i}", "--body", "b" * 2000)
        filler = fill(small_disk)
        os.kill(projector, signal.SIGKILL)
        os.replace(stage / spool.SPOOL_NAME, s.paths.spool_dir / spool.SPOOL_NAME)
        s.wait_until(lambda: _node_pid(s, "projector") not in (0, projector), 15, "restart")
        waiting = _node_pid(s, "projector")
        s.wait_until(lambda: "views wait for storage" in s.read_log(), 15, "the wait logged")
        s.wait_until(
            lambda: "full" in str(_status(s)["disk"]["storage_error"]),  # type: ignore[index]
            15,
            "the poller's replay refused for want of space",
        )

        # While full: no views file set aside, one projector process waiting.
        assert not list(s.paths.data_dir.glob("views.db.damaged*"))
        assert _node_pid(s, "projector") == waiting
        assert _restarts(s, "projector") == 1  # the kill, nothing after
        # The spooled call is kept for later, not dropped.
        assert spool.pending(s.paths.spool_dir)
        kept = b"".join(p.read_bytes() for p in s.paths.spool_dir.iterdir())
        assert SPOOLED_TITLE.encode() in kept
        # Readers say what is wrong, in one line, without a traceback.
        status = _status(s)
        disk = status["disk"]
        assert isinstance(disk, dict)
        assert disk["full"] is True
        text = s.clare("status", check=False)
        assert text.returncode == 0
        assert "disk: FULL" in text.stdout
        verify = s.clare("verify", check=False)
        assert verify.returncode == 1
        assert "Traceback" not in verify.stderr
        assert len(verify.stderr.strip().splitlines()) == 1, verify.stderr
        doctor = json.loads(s.clare("doctor", "--json", check=False).stdout)
        (disk_check,) = [c for c in doctor["checks"] if c["name"] == "disk"]
        assert disk_check["status"] == "failure"
        assert "resumes by itself" in disk_check["fix"]

        filler.unlink()
        writer_seq = 0

        def caught_up() -> bool:
            nonlocal writer_seq
            nodes = _status(s)["nodes"]
            assert isinstance(nodes, dict)
            writer_seq = nodes["writer"].get("seq") or 0
            return bool(nodes["projector"].get("position") == writer_seq and writer_seq)

        s.wait_until(caught_up, 60, "the views catch up once space is back")
        assert _node_pid(s, "projector") == waiting  # resumed, not restarted
        s.wait_until(lambda: not spool.pending(s.paths.spool_dir), 30, "the spool replayed")
        titles = [e.data().get("title") for e in stored_events(s) if e.kind == "TaskCreated"]
        assert titles.count(SPOOLED_TITLE) == 1
        assert s.clare("verify").returncode == 0
        assert not list(s.paths.data_dir.glob("views.db.damaged*"))
        assert _status(s)["disk"]["storage_error"] is None  # type: ignore[index]
    finally:
        s.down()
