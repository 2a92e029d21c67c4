"""Forms and JSON bodies to writer arguments: pure."""

from __future__ import annotations

import pytest

from clare.core.errors import UsageError
from clare.web.forms import form_args, json_args

NOW = 1_700_000_000_000


def test_task_add_form_splits_lists_and_reads_numbers() -> None:
    args = form_args(
        "task.add",
        {"project": " p ", "title": "T", "priority": "4", "tags": "a, b c", "depends_on": ""},
        "me",
        NOW,
    )
    assert args == {
        "author": "me",
        "project": "p",
        "title": "T",
        "body": "",
        "priority": 4,
        "tags": ["a", "b", "c"],
        "depends_on": [],
    }


def test_update_sends_only_what_the_form_has() -> None:
    args = form_args("task.update", {"task": "t-1", "title": ""}, "me", NOW)
    assert args == {"author": "me", "task": "t-1", "title": None, "body": None, "priority": None}
    full = form_args(
        "task.update", {"task": "t-1", "body": " b ", "tags": "", "depends_on": "t-2"}, "me", NOW
    )
    assert full["body"] == "b"
    assert full["tags"] == []
    assert full["depends_on"] == ["t-2"]


def test_state_assign_note_unassign_project_broadcast() -> None:
    state = form_args("task.state", {"task": "t", "state": "done", "force": "1"}, "me", NOW)
    assert state["force"] is True
    assert state["note"] == ""
    assigned = form_args("task.assign", {"task": "t", "assignee": "host:beta"}, "me", NOW)
    assert (assigned["assignee_kind"], assigned["assignee"]) == ("host", "beta")
    plain = form_args("task.assign", {"task": "t", "assignee": "s-1"}, "me", NOW)
    assert plain["assignee_kind"] == "session"
    assert form_args("task.note", {"task": "t", "text": " n "}, "me", NOW)["text"] == "n"
    assert form_args("task.unassign", {"task": "t"}, "me", NOW) == {"author": "me", "task": "t"}
    project = form_args("project.add", {"name": "p", "path": "/src/p"}, "me", NOW)
    assert project == {"name": "p", "description": "", "path": "/src/p"}
    message = form_args("broadcast", {"text": "hi"}, "me", NOW)
    assert message == {"author": "me", "text": "hi", "target": "all", "sent_at": NOW}


def test_bad_form_input_is_the_users_fault() -> None:
    with pytest.raises(UsageError, match="whole number"):
        form_args("task.add", {"priority": "high"}, "me", NOW)
    with pytest.raises(UsageError, match="unknown action"):
        form_args("task.explode", {}, "me", NOW)


def test_json_bodies_keep_their_types() -> None:
    args = json_args("task.add", {"project": "p", "title": "t", "tags": ["x"]}, "me", NOW)
    assert args["tags"] == ["x"]
    assert args["author"] == "me"
    assert json_args("task.add", {"author": "bot"}, "me", NOW)["author"] == "bot"
    assigned = json_args("task.assign", {"assignee": "group:gpu"}, "me", NOW)
    assert (assigned["assignee_kind"], assigned["assignee"]) == ("group", "gpu")
    assert "author" not in json_args("project.add", {"name": "p"}, "me", NOW)
    message = json_args("broadcast", {"text": "x"}, "me", NOW)
    assert message["target"] == "all"
    assert message["sent_at"] == NOW
    with pytest.raises(UsageError, match="JSON object"):
        json_args("task.add", ["x"], "me", NOW)
    with pytest.raises(UsageError, match="unknown action"):
        json_args("nope", {}, "me", NOW)
