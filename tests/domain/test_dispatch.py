"""Dispatch deciders: a request is acted on once, by its host, while it is fresh."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.core.errors import UsageError
from clare.domain.events import SessionObserved
from clare.domain.session_ops import snapshot_dict
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from tests.helpers import Clock, call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.domain.dispatch_events import Dispatch
    from clare.nodes.writer_core import WriterCore

HERE = "00000000-0000-4000-8000-000000000001"
THERE = "00000000-0000-4000-8000-0000000000ff"
MAX_AGE_MS = 60_000


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def core(tmp_path: Path, clock: Clock) -> WriterCore:
    core = make_core(tmp_path / "events.db", machine_id=HERE, clock=clock)
    call(core, "project.add", name="alpha")
    return core


def dispatch(core: WriterCore, request: str) -> Dispatch:
    found = core.cache.dispatch(request)
    assert found is not None
    return found


def accept(core: WriterCore, request: str, now_ms: int, **extra: object) -> dict[str, object]:
    return call(
        core, "dispatch.accept", request=request, now_ms=now_ms, max_age_ms=MAX_AGE_MS, **extra
    )


def now(clock: Clock) -> int:
    return int(clock())


def test_a_request_is_accepted_once_then_bound_to_its_session(
    core: WriterCore, clock: Clock
) -> None:
    task = call(core, "task.add", project="alpha", title="work")["task"]
    call(core, "dispatch.request", request="d-00000001", action="start", task=task)
    # Sent twice (a retry, a second sync): one request.
    again = call(core, "dispatch.request", request="d-00000001", action="start", task=task)
    assert again["events"] == []
    first = accept(core, "d-00000001", now(clock))
    assert first["accepted"] is True
    assert core.cache.task(task).state == "in_progress"  # type: ignore[union-attr]
    # Seen again after a restart or a healed partition: not acted on again.
    assert accept(core, "d-00000001", now(clock))["accepted"] is False
    call(core, "dispatch.launched", request="d-00000001", job_id="abc123")
    call(core, "session.observe", snapshot={"session": "s1", "status": "busy"})
    call(core, "dispatch.started", request="d-00000001", session="s1")
    found = dispatch(core, "d-00000001")
    assert (found.state, found.job_id, found.session) == ("started", "abc123", "s1")
    held = core.cache.task(task)
    assert held is not None
    assert (held.state, held.assignee_ref) == ("in_progress", "session:s1")
    # A task with a live session is not dispatched again.
    with pytest.raises(UsageError, match="already has a live session"):
        call(core, "dispatch.request", request="d-00000002", action="start", task=task)


def test_a_stale_request_is_refused_not_started_late(core: WriterCore, clock: Clock) -> None:
    task = call(core, "task.add", project="alpha", title="work")["task"]
    call(core, "dispatch.request", request="d-00000003", action="start", task=task)
    late = accept(core, "d-00000003", now(clock) + MAX_AGE_MS + 5_000)
    assert late["accepted"] is False
    assert "not started late" in dispatch(core, "d-00000003").reason
    assert core.cache.task(task).state == "todo"  # type: ignore[union-attr]


def test_a_refusal_from_the_host_says_why_and_a_failure_gives_the_task_back(
    core: WriterCore, clock: Clock
) -> None:
    task = call(core, "task.add", project="alpha", title="work")["task"]
    call(core, "dispatch.request", request="d-00000004", action="start", task=task)
    refused = accept(core, "d-00000004", now(clock), refuse="dispatch is off on this host")
    assert refused["accepted"] is False
    assert dispatch(core, "d-00000004").reason == "dispatch is off on this host"
    call(core, "dispatch.request", request="d-00000005", action="start", task=task)
    assert accept(core, "d-00000005", now(clock))["accepted"] is True
    call(core, "dispatch.refuse", request="d-00000005", reason="claude failed: no such file")
    assert dispatch(core, "d-00000005").state == "refused"
    assert core.cache.task(task).state == "todo"  # type: ignore[union-attr]


def test_only_the_target_host_answers(core: WriterCore, tmp_path: Path, clock: Clock) -> None:
    other = make_core(tmp_path / "b.db", machine_id=THERE, clock=clock)
    call(other, "host.name", name="b")
    call(
        core, "ingest", events=[remote_event_wire(e) for e in eventlog.read_after(other.conn, 0, 9)]
    )
    task = call(core, "task.add", project="alpha", title="work")["task"]
    call(core, "dispatch.request", request="d-00000006", action="start", task=task, host="b")
    assert dispatch(core, "d-00000006").host == THERE
    with pytest.raises(UsageError, match="another host"):
        accept(core, "d-00000006", now(clock))


def test_a_stop_goes_to_the_sessions_host(core: WriterCore, clock: Clock) -> None:
    snap = SessionObserved(session="s9", host=HERE, status="idle", session_kind="bg", job_id="j1")
    call(core, "session.observe", snapshot=snapshot_dict(snap))
    call(core, "dispatch.request", request="d-00000007", action="stop", session="s9")
    assert accept(core, "d-00000007", now(clock))["accepted"] is True
    call(core, "dispatch.stopped", request="d-00000007", how="claude stop j1")
    assert dispatch(core, "d-00000007").state == "stopped"


def test_an_offer_is_recorded_only_when_it_changes(core: WriterCore) -> None:
    assert call(core, "dispatch.offer", enabled=True, max_sessions=4)["changed"] is True
    assert call(core, "dispatch.offer", enabled=True, max_sessions=4)["changed"] is False
    assert call(core, "dispatch.offer", enabled=False, max_sessions=4)["changed"] is True
