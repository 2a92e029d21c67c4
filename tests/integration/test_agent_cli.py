"""What an agent runs inside its session, against a real stack: note and done on its task."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from clare.bus.client import CommandClient
from clare.bus.endpoints import WRITER_COMMANDS
from clare.domain.events import SessionObserved
from clare.domain.session_ops import snapshot_dict
from clare.sessions import hooked
from clare.sessions.hooked import hooked_dir

if TYPE_CHECKING:
    from tests.integration.stack import Stack

SESSION = "5e55a0d1-0000-4000-8000-000000000001"


def _observe(s: Stack, pid: int) -> None:
    machine = s.json("status")["host"]["machine_id"]
    snap = SessionObserved(session=SESSION, host=machine, pid=pid, cwd="/tmp", status="busy")
    endpoint = f"ipc://{s.paths.runtime_dir / WRITER_COMMANDS}"
    with CommandClient(endpoint) as client:
        client.call("session.observe", {"snapshot": snapshot_dict(snap)})


def test_note_and_done_act_on_the_sessions_current_task(running: Stack) -> None:
    s = running
    # A live process that the poller takes for Claude Code, recorded as its hook records a
    # session: a session Claude Code does not show is ended on the poller's next pass,
    # and a task is not given to an ended session.
    stand_in = subprocess.Popen(["bash", "-c", "exec -a claude sleep 120"])
    try:
        hooked.record(hooked_dir(s.paths.data_dir), stand_in.pid, SESSION, "/tmp", "", 0)
        _observe(s, stand_in.pid)
        _note_and_done(s)
    finally:
        stand_in.kill()
        stand_in.wait()


def _note_and_done(s: Stack) -> None:
    s.clare("project", "add", "alpha")
    task = s.json("task", "add", "the work", "-p", "alpha")["task"]
    other = s.json("task", "add", "not mine", "-p", "alpha")["task"]

    nothing = s.clare("note", "progress", "--session", SESSION, check=False)
    assert nothing.returncode == 1
    assert "has no open task" in nothing.stderr

    s.clare("assign", task, SESSION[:8])
    s.clare("note", "halfway there", "--session", SESSION)
    s.clare("note", other, "a person's note")  # TASK TEXT still works
    shown = s.json("task", "show", task)
    notes = [e["data"] for e in shown["history"] if e["kind"] == "TaskNoted"]
    assert notes == [{"task": task, "text": "halfway there", "author": f"session:{SESSION}"}]
    assert s.json("task", "show", other)["notes"] == 1

    s.clare("done", "--note", "finished", "--session", SESSION)
    assert s.json("task", "show", task)["state"] == "done"
    too_many = s.clare("note", "a", "b", "c", check=False)
    assert too_many.returncode == 1
