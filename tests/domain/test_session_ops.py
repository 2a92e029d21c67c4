from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import NotFound, UsageError
from clare.core.ids import MAX_SESSION_ID
from clare.domain.entities import Group, Session
from clare.domain.events import SessionObserved
from clare.domain.session_ops import (
    ACTIVITY_STEP_MS,
    TOKEN_STEP,
    WAITING_NOTIFICATIONS,
    hook_status,
    significant_change,
)
from clare.nodes.writer_ingest import remote_event_wire
from clare.sessions.hook_events import HOOK_EVENTS
from clare.store import eventlog
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.domain.tasks import Task
    from clare.nodes.writer_core import WriterCore

NOW = 1_800_000_000_000
BASE = SessionObserved(session="s1", host="h", status="busy", tokens_in=100, last_activity=NOW)


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    core = make_core(tmp_path / "events.db")
    call(core, "project.add", name="alpha")
    return core


def session(core: WriterCore, session_id: str) -> SessionObserved:
    found = core.cache.session(session_id)
    assert isinstance(found, Session)
    return found.snapshot


def task(core: WriterCore, task_id: str) -> Task:
    found = core.cache.task(task_id)
    assert found is not None
    return found


def test_an_ended_session_records_its_exact_tokens() -> None:
    ended = replace(BASE, status="ended")
    assert significant_change(ended, replace(ended, tokens_out=ended.tokens_out + 1))
    assert not significant_change(ended, replace(ended, last_activity=NOW + 1))


def test_significant_change_is_coarse_for_tokens_and_activity() -> None:
    assert significant_change(None, BASE)
    assert not significant_change(BASE, BASE)
    assert significant_change(BASE, replace(BASE, status="idle"))
    assert significant_change(BASE, replace(BASE, branch="main"))
    assert not significant_change(BASE, replace(BASE, tokens_in=100 + TOKEN_STEP - 1))
    assert significant_change(BASE, replace(BASE, tokens_in=100 + TOKEN_STEP))
    big = replace(BASE, tokens_in=10_000_000)
    assert not significant_change(big, replace(big, tokens_out=TOKEN_STEP * 2))  # under 5 %
    assert not significant_change(BASE, replace(BASE, last_activity=NOW + ACTIVITY_STEP_MS - 1))
    assert significant_change(BASE, replace(BASE, last_activity=NOW + ACTIVITY_STEP_MS))


def test_observe_writes_only_changes_and_stamps_this_host(core: WriterCore) -> None:
    snap: dict[str, Any] = {"session": "s1", "host": "elsewhere", "status": "busy", "pid": 3}
    assert call(core, "session.observe", snapshot=snap)["changed"] is True
    assert session(core, "s1").host == core.log.machine_id
    again = call(core, "session.observe", snapshot={**snap, "tokens_in": 5})
    assert again == {"session": "s1", "changed": False, "events": []}
    with pytest.raises(UsageError):
        call(core, "session.observe", snapshot={"session": "s1", "pid": "three"})


def test_observe_keeps_the_later_activity_a_hook_saw(core: WriterCore) -> None:
    call(core, "session.hook", session="s1", event="UserPromptSubmit", at=NOW + 10)
    call(
        core, "session.observe", snapshot={"session": "s1", "status": "idle", "last_activity": NOW}
    )
    assert session(core, "s1").last_activity == NOW + 10


def test_hook_events_set_the_status(core: WriterCore) -> None:
    steps = [
        ("SessionStart", "idle"),
        ("UserPromptSubmit", "busy"),
        ("Notification", "waiting"),
        ("Stop", "idle"),
        ("SessionEnd", "ended"),
    ]
    for i, (event, status) in enumerate(steps):
        call(core, "session.hook", session="s1", event=event, at=NOW + i,
             cwd="/src/a", project="alpha", waiting_for="permission",
             notification_type="permission_prompt")  # fmt: skip
        snap = session(core, "s1")
        assert snap.status == status
        assert snap.waiting_for == ("permission" if status == "waiting" else "")
    assert (snap.cwd, snap.project) == ("/src/a", "alpha")


@pytest.mark.parametrize(
    ("before", "call_args", "after"),
    [
        ("busy", {"event": "Notification", "notification_type": "permission_prompt"}, "waiting"),
        ("busy", {"event": "Notification", "notification_type": "elicitation_dialog"}, "waiting"),
        ("busy", {"event": "Notification", "notification_type": "agent_needs_input"}, "waiting"),
        ("busy", {"event": "Notification", "notification_type": "idle_prompt"}, "idle"),
        ("busy", {"event": "Notification", "notification_type": "auth_success"}, "busy"),
        ("idle", {"event": "Notification", "notification_type": "auth_success"}, "idle"),
        ("busy", {"event": "Notification", "notification_type": "a-future-kind"}, "busy"),
        ("busy", {"event": "Notification"}, "busy"),
        ("busy", {"event": "Stop", "background_tasks": 2}, "busy"),
        ("busy", {"event": "Stop", "background_tasks": 0}, "idle"),
        ("busy", {"event": "SessionStart", "source": "compact"}, "busy"),
        ("busy", {"event": "SessionStart", "source": "resume"}, "idle"),
        ("ended", {"event": "SessionStart", "source": "compact"}, "idle"),
    ],
)
def test_only_a_person_needed_means_waiting(
    core: WriterCore, before: str, call_args: dict[str, Any], after: str
) -> None:
    call(
        core, "session.observe", snapshot={"session": "s1", "status": before, "last_activity": NOW}
    )
    call(core, "session.hook", session="s1", at=NOW + 1, waiting_for="something", **call_args)
    snap = session(core, "s1")
    assert snap.status == after
    assert snap.waiting_for == ("something" if after == "waiting" else "")


def test_a_source_that_cannot_tell_the_status_keeps_the_hooks(core: WriterCore) -> None:
    call(core, "session.hook", session="s1", event="UserPromptSubmit", at=NOW, pid=52)
    assert (session(core, "s1").status, session(core, "s1").pid) == ("busy", 52)
    snap = {"session": "s1", "pid": 52, "status": "", "branch": "main", "last_activity": NOW}
    call(core, "session.observe", snapshot=snap)
    assert (session(core, "s1").status, session(core, "s1").branch) == ("busy", "main")
    call(core, "session.observe", snapshot={**snap, "status": "ended"})
    assert session(core, "s1").status == "ended"


def test_a_wait_is_over_once_the_transcript_moves_on(core: WriterCore) -> None:
    call(core, "session.hook", session="s1", event="Notification", at=NOW,
         notification_type="permission_prompt", waiting_for="permission")  # fmt: skip
    snap = {"session": "s1", "status": "", "last_activity": NOW - 5}  # the tool call, before
    call(core, "session.observe", snapshot=snap)
    assert (session(core, "s1").status, session(core, "s1").waiting_for) == (
        "waiting", "permission")  # fmt: skip
    call(core, "session.observe", snapshot={**snap, "last_activity": NOW + 5})  # answered
    assert (session(core, "s1").status, session(core, "s1").waiting_for) == ("busy", "")


@given(
    st.sampled_from([*HOOK_EVENTS, "PreToolUse", ""]),
    st.sampled_from(["busy", "shell", "idle", "waiting", "ended", ""]),
    st.text(max_size=30) | st.sampled_from(sorted(WAITING_NOTIFICATIONS)),
    st.integers(min_value=0, max_value=5),
    st.sampled_from(["startup", "resume", "clear", "compact", ""]),
)
def test_only_a_person_needed_ever_means_waiting(
    event: str, current: str, notification_type: str, background: int, source: str
) -> None:
    status = hook_status(event, current, notification_type=notification_type,
                         background_tasks=background, source=source)  # fmt: skip
    if status == "waiting" and current != "waiting":
        assert event == "Notification"
        assert notification_type in WAITING_NOTIFICATIONS


def test_session_ids_are_bounded_alike_everywhere(core: WriterCore) -> None:
    long_id = "s" * (MAX_SESSION_ID + 1)
    for op, args in [
        ("session.hook", {"event": "Stop", "at": NOW}),
        ("session.observe", {"snapshot": {"session": long_id}}),
        ("message.deliver", {"messages": []}),
        ("task.claim", {"candidates": []}),
    ]:
        with pytest.raises(UsageError):
            call(core, op, **({"session": long_id} | args))


def test_a_late_replayed_hook_call_only_records_deliveries(core: WriterCore) -> None:
    call(core, "session.hook", session="s1", event="SessionEnd", at=NOW)
    sent = call(core, "message.send", target="all", text="hi", sent_at=NOW - 5)
    result = call(core, "session.hook", session="s1", event="UserPromptSubmit", at=NOW - 1,
                  delivered=[sent["message"]])  # fmt: skip
    assert session(core, "s1").status == "ended"
    assert [e["seq"] for e in result["events"]] == [eventlog.last_seq(core.conn)]
    assert result["recorded"] == 1


def ready_tasks(core: WriterCore, n: int) -> list[str]:
    return [
        call(core, "task.add", project="alpha", title=f"t{i}", priority=n - i)["task"]
        for i in range(n)
    ]


def test_two_claims_never_get_the_same_task(core: WriterCore) -> None:
    ids = ready_tasks(core, 2)
    first = call(core, "task.claim", session="s1", candidates=ids)
    second = call(core, "task.claim", session="s2", candidates=ids)
    assert (first["task"], second["task"]) == (ids[0], ids[1])
    assert task(core, ids[0]).assignee_ref == "session:s1"
    assert task(core, ids[0]).state == "in_progress"
    assert call(core, "task.claim", session="s3", candidates=ids)["task"] is None


def test_claim_skips_tasks_that_wait_and_takes_its_own_or_its_hosts(core: WriterCore) -> None:
    blocker, waiting = ready_tasks(core, 2)
    call(core, "task.update", task=waiting, depends_on=[blocker])
    call(core, "host.name", name="laptop")
    call(core, "task.assign", task=blocker, assignee_kind="host", assignee="laptop")
    claimed = call(core, "task.claim", session="s1", candidates=[waiting, blocker])
    assert claimed["task"] == blocker
    assert task(core, blocker).assignee_ref == "session:s1"
    with pytest.raises(UsageError):
        call(core, "task.claim", session="", candidates=[blocker])


def test_a_task_assigned_to_the_session_is_started_without_reassigning(core: WriterCore) -> None:
    (only,) = ready_tasks(core, 1)
    call(core, "session.observe", snapshot={"session": "s1"})
    call(core, "task.assign", task=only, assignee_kind="session", assignee="s1")
    result = call(core, "task.claim", session="s1", candidates=[only])
    assert result["task"] == only
    assert len(result["events"]) == 1  # the state change alone


def test_claims_made_on_two_hosts_at_once_settle_on_one_winner(tmp_path: Path) -> None:
    a = make_core(tmp_path / "a.db", machine_id="00000000-0000-4000-8000-00000000000a")
    b = make_core(tmp_path / "b.db", machine_id="00000000-0000-4000-8000-00000000000b")
    call(a, "project.add", name="alpha")
    (task_id,) = ready_tasks(a, 1)
    call(b, "ingest", events=[remote_event_wire(e) for e in eventlog.read_after(a.conn, 0, 99)])
    call(a, "task.claim", session="sa", candidates=[task_id])
    call(b, "task.claim", session="sb", candidates=[task_id])
    seen_a = eventlog.read_after(a.conn, 0, 99)
    seen_b = eventlog.read_after(b.conn, 0, 99)
    call(a, "ingest", events=[remote_event_wire(e) for e in seen_b])
    call(b, "ingest", events=[remote_event_wire(e) for e in seen_a])
    on_a, on_b = task(a, task_id), task(b, task_id)
    assert on_a.assignee_ref == on_b.assignee_ref
    assert on_a.conflicts == on_b.conflicts
    loser = "sb" if on_a.assignee == "sa" else "sa"
    assert any(f"session:{loser} lost" in c.description for c in on_a.conflicts)


def test_groups_gain_and_lose_members(core: WriterCore) -> None:
    call(core, "session.observe", snapshot={"session": "s1"})
    call(core, "group.add", name="backend", members=["session:s1", "host:laptop"])
    assert call(core, "group.add", name="backend", members=["host:laptop"])["events"] == []
    call(core, "group.remove", name="backend", members=["host:laptop"])
    group = core.cache.group("backend")
    assert isinstance(group, Group)
    assert group.members == ("session:s1",)
    with pytest.raises(NotFound):
        call(core, "group.add", name="backend", members=["session:nobody"])
    with pytest.raises(UsageError):
        call(core, "group.add", name="backend", members=["planet:mars"])
    call(core, "group.remove", name="backend")
    with pytest.raises(NotFound):
        call(core, "group.remove", name="backend")
