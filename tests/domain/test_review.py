from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.core.errors import InvalidTransition, ProtocolError, UsageError
from clare.domain.events import decode
from clare.domain.messages import Message
from clare.domain.review import TaskWorkRecorded
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

NOW = 1_800_000_000_000
WORK = {
    "cwd": "/w",
    "branch": "feature/x",
    "base": "main",
    "base_commit": "b" * 40,
    "head": "c" * 40,
    "commits": ["c" * 40 + " Add x"],
    "commits_total": 1,
    "files": ["1\t0\tx.py"],
    "files_total": 1,
}


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    core = make_core(tmp_path / "events.db")
    call(core, "project.add", name="alpha")
    snapshot = {"session": "s1", "status": "busy", "last_activity": NOW}
    call(core, "session.observe", snapshot=snapshot)
    return core


def claimed_task(core: WriterCore) -> str:
    task = call(core, "task.add", project="alpha", title="x")["task"]
    assert call(core, "task.claim", session="s1", candidates=[task])["task"] == task
    return str(task)


def test_finish_goes_to_done_unless_the_project_asks_for_review(core: WriterCore) -> None:
    task = claimed_task(core)
    assert call(core, "task.finish", task=task, session="s1", work=WORK)["state"] == "done"
    call(core, "project.update", name="alpha", review=True)
    other = claimed_task(core)
    assert call(core, "task.finish", task=other, session="s1")["state"] == "review"
    project = core.cache.project("alpha")
    assert project is not None
    assert project.review
    call(core, "project.update", name="alpha", review=False)
    assert core.cache.project("alpha").review is False  # type: ignore[union-attr]


def test_finish_records_the_work_with_the_state(core: WriterCore) -> None:
    task = claimed_task(core)
    call(core, "task.finish", task=task, session="s1", note="did it", work=WORK)
    kinds = [
        row[0]
        for row in core.conn.execute(
            "SELECT kind FROM events WHERE entity = ? ORDER BY seq", (task,)
        )
    ]
    assert kinds[-3:] == ["TaskStateChanged", "TaskNoted", "TaskWorkRecorded"]


def test_a_work_record_out_of_bounds_is_refused(core: WriterCore) -> None:
    task = claimed_task(core)
    with pytest.raises(UsageError):
        call(core, "task.finish", task=task, session="s1", work={**WORK, "files": ["x"] * 201})
    with pytest.raises(ProtocolError):
        decode(TaskWorkRecorded.kind, {"task": task, "commits": ["x" * 5000]})


def test_approve_and_request_changes(core: WriterCore) -> None:
    call(core, "project.update", name="alpha", review=True)
    task = claimed_task(core)
    with pytest.raises(InvalidTransition):
        call(core, "task.review", task=task, verdict="approve")
    call(core, "task.finish", task=task, session="s1")
    with pytest.raises(UsageError):
        call(core, "task.review", task=task, verdict="request_changes", text=" ", sent_at=NOW)
    sent = call(
        core, "task.review", task=task, verdict="request_changes", text="add tests", sent_at=NOW
    )
    assert sent["state"] == "in_progress"
    assert sent["session"] == "s1"
    message = core.cache.get("m:" + sent["message"])
    assert isinstance(message, Message)
    assert message.target == "session:s1"
    assert "add tests" in message.text
    assert core.cache.task(task).state == "in_progress"  # type: ignore[union-attr]
    call(core, "task.finish", task=task, session="s1")
    assert call(core, "task.review", task=task, verdict="approve")["state"] == "done"


def test_a_finish_with_usage_records_the_session_s_snapshot_first(core: WriterCore) -> None:
    task = claimed_task(core)
    usage = {"claude-sonnet-4-5": [10, 20, 0, 0, 0]}
    call(core, "task.finish", task=task, session="s1", usage=usage)
    rows = core.conn.execute("SELECT kind, entity FROM events ORDER BY seq").fetchall()
    assert rows[-2:] == [("SessionObserved", "s:s1"), ("TaskStateChanged", task)]
    found = core.cache.session("s1")
    assert found is not None
    assert {m: list(c) for m, c in found.snapshot.usage.items()} == usage
    other = claimed_task(core)
    before = core.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    call(core, "task.finish", task=other, session="s1", usage=usage)  # unchanged: no snapshot
    after = core.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert after - before == 1
    with pytest.raises(UsageError):
        call(core, "task.finish", task=other, session="s1", usage={"m": [-1]})


def test_work_on_a_task_never_started_still_goes_to_review(core: WriterCore) -> None:
    call(core, "project.update", name="alpha", review=True)
    task = call(core, "task.add", project="alpha", title="x")["task"]
    call(core, "task.assign", task=task, assignee_kind="session", assignee="s1")
    assert call(core, "task.finish", task=task, session="s1")["state"] == "review"
    with pytest.raises(InvalidTransition):
        call(core, "task.finish", task=task, session="s1")  # already in review
