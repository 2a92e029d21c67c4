"""The web's reads: sessions, the timeline, sync state, events, messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from clare.core.errors import NotFound, UsageError
from clare.web import reads
from tests.web.conftest import MACHINE, PEER

if TYPE_CHECKING:
    from tests.web.conftest import Web


def _read(web: Web, fn: Any) -> Any:
    return web.ctx.read_sync(fn)


def test_sessions_with_their_current_task(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "p"})
    task = web.writer.call_sync("task.add", {"project": "p", "title": "t"})["task"]
    assert _read(web, lambda v, e: reads.list_sessions(v)) == []
    web.writer.observe("s-one", name="one", tokens_in=3, tokens_out=4, status="idle")
    web.writer.observe("s-two", name="two", status="ended")
    web.writer.call_sync(
        "task.assign", {"task": task, "assignee_kind": "session", "assignee": "s-one"}
    )
    live = _read(web, lambda v, e: reads.list_sessions(v, live_only=True))
    assert [s["id"] for s in live] == ["s-one"]
    one = live[0]
    for field in ("id", "host", "pid", "name", "cwd", "project", "branch", "status"):
        assert field in one
    assert one["host"] == "beta"
    assert one["tokens"] == 7
    assert one["task"] == task
    assert len(_read(web, lambda v, e: reads.list_sessions(v))) == 2
    detail = _read(web, lambda v, e: reads.get_session(v, e, "s-one"))
    assert [t["id"] for t in detail["tasks"]] == [task]
    assert detail["messages"] == []
    with pytest.raises(NotFound):
        _read(web, lambda v, e: reads.get_session(v, e, "s-none"))


def test_the_timeline_merges_runs_of_one_status(web: Web) -> None:
    for status, tokens in (("busy", 1), ("busy", 5), ("waiting", 6), ("busy", 9)):
        web.writer.observe("s-t", status=status, tokens_in=tokens)
    points = _read(web, lambda v, e: reads.timeline(e, "s-t"))
    assert [p["status"] for p in points] == ["busy", "waiting", "busy"]
    assert points[0]["tokens"] == 5  # the latest of the merged run
    assert points[0]["since"] <= points[0]["at"]


def test_sync_state_counts_each_hosts_events(web: Web) -> None:
    web.writer.observe("s-x")
    state = _read(web, lambda v, e: reads.sync_state(v, e, web.config))
    hosts = {h["machine_id"]: h for h in state["hosts"]}
    assert hosts[MACHINE]["self"] is True
    assert hosts[PEER]["name"] == "beta"
    assert hosts[PEER]["groups"] == ["gpu"]
    assert hosts[PEER]["events"] == hosts[PEER]["contiguous"] == 2
    assert hosts[PEER]["missing"] == 0
    assert state["vector"][PEER] == 2
    assert state["peers"] == []


def test_a_hole_in_a_hosts_history_shows_as_missing(web: Web) -> None:
    web.writer.peer_seq += 2  # the next peer event arrives with two before it missing
    web.writer.observe("s-late")
    hosts = {
        h["machine_id"]: h
        for h in _read(web, lambda v, e: reads.sync_state(v, e, web.config))["hosts"]
    }
    assert hosts[PEER]["events"] == 2
    assert hosts[PEER]["contiguous"] == 1
    assert hosts[PEER]["missing"] == 2


def test_events_filtered_by_kind_entity_host_and_position(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "p"})
    task = web.writer.call_sync("task.add", {"project": "p", "title": "t"})["task"]
    web.writer.call_sync("task.note", {"task": task, "text": "n"})

    def events(**kw: Any) -> list[dict[str, Any]]:
        return list(_read(web, lambda v, e: reads.list_events(e, {PEER: "beta"}, **kw)))

    assert [e["kind"] for e in events(kind="Task*")] == ["TaskNoted", "TaskCreated"]
    assert [e["kind"] for e in events(kind="TaskNoted")] == ["TaskNoted"]
    assert [e["kind"] for e in events(entity=task)] == ["TaskNoted", "TaskCreated"]
    assert [e["host"] for e in events(host="beta")] == ["beta"]
    newest = events(limit=1)[0]["seq"]
    assert all(e["seq"] < newest for e in events(before=newest))
    assert events(after=newest) == []
    with pytest.raises(UsageError):
        events(limit=0)


def test_messages_with_their_deliveries(web: Web) -> None:
    web.writer.ingest(
        "MessageSent",
        {"message": "m-1", "target": "all", "text": "hello", "author": "a", "sent_at": 5},
    )
    web.writer.ingest("MessageDelivered", {"message": "m-1", "session": "s-1", "via": "hook"})
    web.writer.ingest("MessageDelivered", {"message": "m-gone", "session": "s-2"})
    found = _read(web, lambda v, e: reads.list_messages(v, e))
    assert len(found) == 1
    assert found[0]["text"] == "hello"
    assert found[0]["deliveries"][0]["session"] == "s-1"


def test_task_counts_with_ready_tasks(web: Web) -> None:
    from clare.store import queries_tasks

    web.writer.call_sync("project.add", {"name": "c"})
    a = web.writer.call_sync("task.add", {"project": "c", "title": "a"})["task"]
    b = web.writer.call_sync("task.add", {"project": "c", "title": "b", "depends_on": [a]})["task"]
    web.writer.call_sync("task.add", {"project": "c", "title": "c", "depends_on": [a, b]})
    web.writer.call_sync("task.state", {"task": b, "state": "blocked"})
    counts = _read(web, lambda v, e: queries_tasks.task_counts(v))
    assert counts == {"todo": 2, "blocked": 1, "ready": 1}  # only a: nothing to wait for
    web.writer.call_sync("task.state", {"task": a, "state": "done"})
    counts = _read(web, lambda v, e: queries_tasks.task_counts(v))
    assert counts == {"todo": 1, "blocked": 1, "done": 1, "ready": 0}  # c waits on blocked b
