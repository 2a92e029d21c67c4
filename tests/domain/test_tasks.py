from __future__ import annotations

import pytest

from clare.core.errors import InvalidTransition
from clare.domain.events import (
    TaskAssigned,
    TaskCreated,
    TaskEdited,
    TaskNoted,
    TaskStateChanged,
    TaskUnassigned,
)
from clare.domain.tasks import EventMeta, Task, apply, check_transition, is_ready


def meta(n: int, origin: str = "a") -> EventMeta:
    return EventMeta(id=f"e{n}-{origin}", hlc=n, origin=origin)


def created() -> Task:
    task = apply(None, TaskCreated(task="t-1", project="p", title="x"), meta(1))
    assert task is not None
    return task


def test_creation_and_edits() -> None:
    task = created()
    assert (task.state, task.title, task.created_at) == ("todo", "x", 1)
    task = apply(task, TaskEdited(task="t-1", title="y", priority=3), meta(2))
    assert task is not None
    assert (task.title, task.priority, task.body) == ("y", 3, "")
    task = apply(task, TaskNoted(task="t-1", text="hi"), meta(3))
    assert task is not None
    assert task.notes == 1
    assert task.updated_at == 3


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("done", "done", "already done"),
        ("done", "in_progress", "cannot start"),
        ("cancelled", "review", "cannot send to review"),
        ("todo", "review", "from todo it can go to"),
        ("todo", "nonsense", "unknown task state"),
    ],
)
def test_transitions_that_make_no_sense_are_refused(
    current: str, target: str, message: str
) -> None:
    with pytest.raises(InvalidTransition, match=message):
        check_transition("t-1", current, target)


def test_an_event_before_creation_is_held_back() -> None:
    assert apply(None, TaskNoted(task="t-1", text="early"), meta(1)) is None


def test_concurrent_state_changes_keep_the_loser_visible() -> None:
    task = created()
    # Two hosts saw "todo": one finished it, the other cancelled it.
    task = apply(task, TaskStateChanged(task="t-1", state="done", previous="todo"), meta(5, "a"))
    assert task is not None
    task = apply(
        task, TaskStateChanged(task="t-1", state="cancelled", previous="todo"), meta(5, "b")
    )
    assert task is not None
    assert task.state == "done"  # done -> cancelled makes no sense: not applied
    (conflict,) = task.conflicts
    assert (conflict.field, conflict.applied, conflict.event_id) == ("state", False, "e5-b")
    assert conflict.winner_event_id == "e5-a"


def test_a_racing_change_that_still_makes_sense_applies_with_a_conflict() -> None:
    task = created()
    task = apply(task, TaskStateChanged(task="t-1", state="in_progress", previous="todo"), meta(2))
    assert task is not None
    task = apply(task, TaskStateChanged(task="t-1", state="blocked", previous="todo"), meta(3, "b"))
    assert task is not None
    assert task.state == "blocked"
    assert task.conflicts[0].applied


def test_first_claim_wins_and_the_loser_is_told() -> None:
    task = created()
    first = TaskAssigned(task="t-1", assignee_kind="session", assignee="s1", claimed=True)
    second = TaskAssigned(task="t-1", assignee_kind="session", assignee="s2", claimed=True)
    task = apply(apply(task, first, meta(4, "a")), second, meta(4, "b"))
    assert task is not None
    assert task.assignee_ref == "session:s1"
    assert "claim by session:s2 lost" in task.conflicts[0].description


def test_plain_assignment_race_is_last_writer_wins_with_a_conflict() -> None:
    task = created()
    task = apply(task, TaskAssigned(task="t-1", assignee_kind="host", assignee="h1"), meta(2, "a"))
    task = apply(task, TaskAssigned(task="t-1", assignee_kind="host", assignee="h2"), meta(3, "b"))
    assert task is not None
    assert task.assignee_ref == "host:h2"
    assert task.conflicts[0].applied
    task = apply(task, TaskUnassigned(task="t-1", previous="host:h2"), meta(4))
    assert task is not None
    assert task.assignee_ref == ""
    assert len(task.conflicts) == 1


def test_creating_an_id_twice_keeps_the_first() -> None:
    task = created()
    again = apply(task, TaskCreated(task="t-1", project="q", title="other"), meta(9, "b"))
    assert again is not None
    assert again.title == "x"
    assert again.conflicts[0].field == "created"


def test_ready_means_todo_with_all_dependencies_done() -> None:
    task = Task(id="t-2", project="p", title="x", depends_on=("t-1",))
    assert not is_ready(task, set())
    assert is_ready(task, {"t-1"})
    assert not is_ready(Task(id="t-3", project="p", title="x", state="blocked"), {"t-1"})


def test_a_concurrent_retitle_keeps_the_replaced_title_visible() -> None:
    task = created()
    # Two hosts saw "x": one renamed it "from a", the other "from b".
    task = apply(task, TaskEdited(task="t-1", title="from a", previous_title="x"), meta(5, "a"))
    assert task is not None
    task = apply(task, TaskEdited(task="t-1", title="from b", previous_title="x"), meta(5, "b"))
    assert task is not None
    assert task.title == "from b"  # last writer wins, in the agreed order
    (conflict,) = task.conflicts
    assert (conflict.field, conflict.applied, conflict.event_id) == ("title", True, "e5-b")
    assert conflict.winner_event_id == "e5-a"
    assert "'from a'" in conflict.description


def test_a_retitle_after_seeing_the_last_one_is_no_conflict() -> None:
    task = created()
    task = apply(task, TaskEdited(task="t-1", title="y", previous_title="x"), meta(2))
    assert task is not None
    task = apply(task, TaskEdited(task="t-1", title="z", previous_title="y"), meta(3))
    assert task is not None
    assert (task.title, task.conflicts) == ("z", ())
