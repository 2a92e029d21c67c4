"""``task.release``: the tasks of a session that ended go back to the ready queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.core.errors import UsageError
from clare.domain.events import SessionObserved
from clare.domain.session_ops import snapshot_dict
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

HERE = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    core = make_core(tmp_path / "events.db", machine_id=HERE)
    call(core, "project.add", name="alpha")
    return core


def observe(core: WriterCore, session: str, status: str, host: str = HERE) -> None:
    # ``session.observe`` stamps the writer's own host: ``host`` only names it here.
    snap = SessionObserved(session=session, host=host, status=status)
    call(core, "session.observe", snapshot=snapshot_dict(snap))


def test_an_ended_sessions_tasks_return_to_the_ready_queue_with_why(core: WriterCore) -> None:
    working, waiting, reviewed = (
        call(core, "task.add", project="alpha", title=t)["task"] for t in ("a", "b", "c")
    )
    observe(core, "s1", "busy")
    for task in (working, waiting, reviewed):
        call(core, "task.assign", task=task, assignee_kind="session", assignee="s1")
    call(core, "task.state", task=working, state="in_progress")
    call(core, "task.state", task=reviewed, state="in_progress")
    call(core, "task.state", task=reviewed, state="review")
    with pytest.raises(UsageError, match="has not ended"):
        call(core, "task.release", session="s1", candidates=[working])

    observe(core, "s1", "ended")
    result = call(core, "task.release", session="s1", candidates=[working, waiting, reviewed])
    assert result["released"] == [working, waiting]
    for task_id in (working, waiting):
        task = core.cache.task(task_id)
        assert task is not None
        assert (task.state, task.assignee) == ("todo", "")
        assert task.notes == 1
    kept = core.cache.task(reviewed)
    assert kept is not None
    assert (kept.state, kept.assignee) == ("review", "s1")
    # Released once: a second call (the views lagged) writes nothing.
    again = call(core, "task.release", session="s1", candidates=[working, waiting])
    assert (again["released"], again["events"]) == ([], [])


def test_only_the_sessions_own_host_releases_its_tasks(core: WriterCore, tmp_path: Path) -> None:
    task = call(core, "task.add", project="alpha", title="a")["task"]
    other = make_core(tmp_path / "b.db", machine_id="00000000-0000-4000-8000-0000000000ff")

    def observe_there(status: str) -> None:
        observe(other, "s2", status)
        wire = [remote_event_wire(e) for e in eventlog.read_after(other.conn, 0, 99)]
        call(core, "ingest", events=wire)

    observe_there("busy")
    call(core, "task.assign", task=task, assignee_kind="session", assignee="s2")
    observe_there("ended")
    with pytest.raises(UsageError, match="another host"):
        call(core, "task.release", session="s2", candidates=[task])
