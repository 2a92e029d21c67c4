from __future__ import annotations

from typing import TYPE_CHECKING

from clare.app.agent import claim_candidates, lost_claims, next_step
from clare.app.recipients import recipient_for
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from tests.helpers import call
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from pathlib import Path


def test_candidates_are_the_sessions_own_then_by_priority(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    fleet.call("host.name", name="laptop")
    fleet.call("project.add", name="alpha", path="/src/alpha")
    fleet.call("project.add", name="beta", path="/src/beta")
    fleet.session("s1", project="alpha")
    fleet.session("s2", project="alpha")
    low = fleet.call("task.add", project="alpha", title="low", priority=1)["task"]
    high = fleet.call("task.add", project="alpha", title="high", priority=9)["task"]
    other = fleet.call("task.add", project="beta", title="other project", priority=50)["task"]
    hosted = fleet.call("task.add", project="beta", title="for this host", priority=5)["task"]
    mine = fleet.call("task.add", project="beta", title="mine", priority=0)["task"]
    taken = fleet.call("task.add", project="alpha", title="someone's", priority=99)["task"]
    waits = fleet.call("task.add", project="alpha", title="waits", priority=80,
                       depends_on=[low])["task"]  # fmt: skip
    fleet.call("task.assign", task=hosted, assignee_kind="host", assignee="laptop")
    fleet.call("task.assign", task=mine, assignee_kind="session", assignee="s1")
    fleet.call("task.assign", task=taken, assignee_kind="session", assignee="s2")
    who = recipient_for(fleet.views, "s1", machine_id=HOST, host_name="laptop")
    assert claim_candidates(fleet.views, "s1", who) == [mine, high, hosted, low]
    assert other not in claim_candidates(fleet.views, "s1", who)
    assert waits not in claim_candidates(fleet.views, "s1", who)


def test_a_lost_claim_is_told_to_the_loser_only(tmp_path: Path) -> None:
    here = Fleet(tmp_path / "a")
    there = Fleet(tmp_path / "b", machine_id="00000000-0000-4000-8000-00000000000b")
    here.call("project.add", name="alpha")
    task = here.call("task.add", project="alpha", title="contested")["task"]
    ours = eventlog.read_after(here.core.conn, 0, 99)
    call(there.core, "ingest", events=[remote_event_wire(e) for e in ours])
    here.call("task.claim", session="s-here", candidates=[task])
    call(there.core, "task.claim", session="s-there", candidates=[task])
    theirs = eventlog.read_after(there.core.conn, 0, 99)
    here.call("ingest", events=[remote_event_wire(e) for e in theirs])
    now = theirs[-1].hlc >> 16
    lost = lost_claims(here.views, here.core.conn, "s-there", now) + lost_claims(
        here.views, here.core.conn, "s-here", now
    )
    (only,) = lost
    assert only["task"] == task
    assert lost_claims(here.views, here.core.conn, "s-there", now + 2 * 86_400_000) == []


def test_next_step_says_what_to_do() -> None:
    working = {"id": "t-1", "title": "x", "state": "in_progress", "ready": False}
    ready = {"id": "t-2", "title": "y", "state": "todo", "ready": True}
    assert "clare done" in next_step([working, ready], None)
    assert "--claim" in next_step([ready], None)
    assert "--claim" in next_step([], None)
    assert "wait" in next_step([{**ready, "ready": False}], None)


def test_next_step_never_advises_a_claim_that_cannot_find_anything() -> None:
    no_project = next_step([], None, claim_tried=True, project=None)
    assert "--claim" not in no_project
    assert "clare project update" in no_project
    assert "--claim" not in next_step([], None, project=None)
    assert "--claim" not in next_step([], None, claim_tried=True, project="alpha")
