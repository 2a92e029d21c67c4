"""The core CLI against a real stack, as a person or a script would use it."""

from __future__ import annotations

import sqlite3

from tests.integration.stack import Stack


def test_not_running_is_one_line_naming_clare_up(stack: Stack) -> None:
    result = stack.clare("task", "add", "x", "--project", "p", check=False)
    assert result.returncode == 1
    assert "clare up" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_instance_names_clare_init(tmp_path: object) -> None:
    stack = Stack(__import__("pathlib").Path(str(tmp_path)) / "none")
    result = stack.clare("project", "list", check=False)
    assert result.returncode == 1
    assert "clare init" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_is_idempotent(stack: Stack) -> None:
    first = stack.json("init")
    again = stack.json("init", "--name", "renamed")
    assert first["machine_id"] == again["machine_id"]
    assert not again["created"]
    assert again["name"] == "renamed"


def test_project_and_task_life_cycle(running: Stack) -> None:
    s = running
    repo = s.home / "alpha"
    repo.mkdir()
    s.clare("project", "add", "alpha", "--path", str(repo), "--description", "the first")
    first = s.clare("task", "add", "write the tests", "-p", "alpha", "--priority", "5",
                    "--tag", "qa").stdout.strip()  # fmt: skip
    second = s.json("task", "add", "ship it", "-p", "alpha", "--depends-on", first[:6])["task"]

    tasks = s.json("task", "list", "--project", "alpha")
    assert [t["id"] for t in tasks] == [first, second]  # most urgent first
    for field in ("id", "title", "project", "state", "priority", "depends_on", "assignee",
                  "created_at", "updated_at"):  # fmt: skip
        assert field in tasks[0]
    assert tasks[1]["depends_on"] == [first]
    assert [t["id"] for t in s.json("task", "list", "--state", "ready")] == [first]

    refused = s.clare("task", "start", second, check=False)
    assert refused.returncode == 1
    assert "waits on" in refused.stderr

    s.clare("task", "start", first, "--note", "on it")
    s.clare("note", first[:7], "halfway there")
    s.clare("task", "review", first)
    s.clare("task", "done", first)
    assert [t["id"] for t in s.json("task", "list", "--state", "ready")] == [second]

    wrong = s.clare("task", "review", first, check=False)
    assert wrong.returncode == 1
    assert "cannot send to review" in wrong.stderr

    shown = s.json("task", "show", first)
    kinds = [e["kind"] for e in shown["history"]]
    assert kinds[0] == "TaskCreated"
    assert kinds.count("TaskNoted") == 2
    assert shown["state"] == "done"
    human = s.clare("task", "show", first).stdout
    assert "halfway there" in human

    s.clare("task", "update", second, "--title", "ship it now", "--priority", "9")
    assert s.json("task", "show", second)["title"] == "ship it now"

    project = s.json("project", "show", "alpha")
    assert project["tasks"] == {"done": 1, "todo": 1}
    assert list(project["paths"].values()) == [str(repo)]

    log = s.json("log", "--kind", "Task*", "--limit", "3")
    assert len(log) == 3
    assert all(e["kind"].startswith("Task") for e in log)

    status = s.json("status")
    assert status["nodes"]["projector"]["answering"]
    assert status["tasks"]["done"] == 1

    assert s.clare("verify").returncode == 0


def test_assign_to_host_and_unassign(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    task = s.json("task", "add", "t", "-p", "alpha")["task"]
    s.clare("assign", task, "--host", "test-host")
    assert s.json("task", "show", task)["assignee"] == "host:test-host"
    missing = s.clare("assign", task, "--host", "nowhere", check=False)
    assert missing.returncode == 1
    assert "no host named" in missing.stderr
    both = s.clare("assign", task, "somesession", "--host", "x", check=False)
    assert both.returncode == 1
    s.clare("unassign", task)
    assert s.json("task", "show", task)["assignee"] is None


def test_bad_input_is_refused_clearly(running: Stack) -> None:
    s = running
    for args, needle in [
        (["project", "add", "Bad Name"], "not allowed"),
        (["task", "add", "t", "-p", "nope"], "no project"),
        (["task", "show", "t-zzzz"], "no task"),
        (["task", "list", "--state", "sleeping"], "unknown state"),
    ]:
        result = s.clare(*args, check=False)
        assert result.returncode == 1, args
        assert needle in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_rebuild_while_running_keeps_views_equal(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    for i in range(20):
        s.clare("task", "add", f"t{i}", "-p", "alpha")
    before = s.json("task", "list")
    result = s.json("rebuild")
    assert result["events"] >= 21
    assert s.json("task", "list") == before
    assert s.clare("verify").returncode == 0


def test_rebuild_and_verify_offline(stack: Stack) -> None:
    stack.up()
    stack.clare("project", "add", "alpha")
    stack.down()
    assert stack.json("rebuild")["events"] >= 1
    assert stack.json("verify")["ok"]
    # Reads work with the stack down: they come from the views DB.
    assert [p["name"] for p in stack.json("project", "list")] == ["alpha"]


def test_verify_reports_tampered_views(running: Stack) -> None:
    s = running
    s.clare("project", "add", "alpha")
    task = s.json("task", "add", "t", "-p", "alpha")["task"]
    # A read waits until the views hold what was written: only then is there a
    # row to tamper with (writing commands never wait for the projector).
    assert s.json("task", "show", task)["state"] == "todo"
    s.down()
    conn = sqlite3.connect(s.paths.views_db)
    conn.execute("UPDATE tasks SET state = 'done' WHERE id = ?", (task,))
    conn.execute("DELETE FROM projects")
    conn.commit()
    conn.close()
    result = s.clare("verify", check=False)
    assert result.returncode == 1
    assert f"tasks {task}: state differ" in result.stdout
    assert "projects alpha: missing from the live views" in result.stdout
    s.clare("rebuild")
    assert s.clare("verify").returncode == 0


def test_a_damaged_views_db_is_set_aside_and_rebuilt(stack: Stack) -> None:
    stack.up()
    stack.clare("project", "add", "alpha")
    stack.down()
    stack.paths.views_db.write_bytes(b"this is not a database" * 100)
    result = stack.json("rebuild")
    assert "damaged_views_moved_to" in result
    assert [p["name"] for p in stack.json("project", "list")] == ["alpha"]
    # The projector recovers by itself too.
    stack.paths.views_db.write_bytes(b"garbage again" * 100)
    stack.up()
    assert [p["name"] for p in stack.json("project", "list")] == ["alpha"]
    assert stack.clare("verify").returncode == 0
