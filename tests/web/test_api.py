"""``/api/v1``: every read and every action, and every error as JSON with a status."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.web.conftest import Web


def _project(web: Web) -> str:
    web.writer.call_sync("project.add", {"name": "api"})
    return str(web.writer.call_sync("task.add", {"project": "api", "title": "first"})["task"])


def test_status_has_the_cli_fields_and_sync_state(web: Web) -> None:
    _project(web)
    web.writer.observe("sess-1", status="idle")
    status = web.client.get("/api/v1/status").json()
    for field in ("host", "home", "up", "nodes", "tasks", "projects", "hosts", "events"):
        assert field in status
    assert status["host"]["name"] == "alpha"
    assert status["tasks"]["todo"] == 1
    assert status["tasks"]["ready"] == 1
    assert status["projects"] == 1
    assert status["sessions"] == {"live": 1, "by_status": {"idle": 1}}
    hosts = {h["name"]: h for h in status["sync"]["hosts"]}
    assert hosts["alpha"]["self"] is True
    assert hosts["beta"]["events"] == 2  # HostNamed + SessionObserved from the peer
    assert status["web"]["streams"] == 0


def test_reads_use_the_cli_field_names(web: Web) -> None:
    task_id = _project(web)
    projects = web.client.get("/api/v1/projects").json()
    assert projects[0]["name"] == "api"
    assert projects[0]["tasks"] == {"todo": 1}
    project = web.client.get("/api/v1/projects/api").json()
    assert project["task_list"][0]["id"] == task_id
    tasks = web.client.get("/api/v1/tasks?project=api&state=ready").json()
    assert [t["id"] for t in tasks] == [task_id]
    assert set(tasks[0]) >= {"id", "title", "project", "state", "ready", "assignee", "notes"}
    task = web.client.get(f"/api/v1/tasks/{task_id[:5]}").json()
    assert task["history"][0]["kind"] == "TaskCreated"
    assert task["conflicts"] == []
    events = web.client.get("/api/v1/events?kind=Task*").json()
    assert [e["kind"] for e in events] == ["TaskCreated"]
    assert set(events[0]) >= {"seq", "id", "kind", "origin", "host", "origin_seq", "hlc", "data"}
    assert web.client.get("/api/v1/events?host=beta").json()[0]["host"] == "beta"
    hosts = web.client.get("/api/v1/hosts").json()
    assert {h["name"] for h in hosts["hosts"]} == {"alpha", "beta"}
    assert web.client.get("/api/v1/messages").json() == []


def test_sessions_live_and_all(web: Web) -> None:
    web.writer.observe("sess-live", status="busy", tokens_in=10, tokens_out=5)
    web.writer.observe("sess-gone", status="ended")
    live = web.client.get("/api/v1/sessions").json()
    assert [s["id"] for s in live] == ["sess-live"]
    assert live[0]["tokens"] == 15
    assert live[0]["host"] == "beta"
    every = web.client.get("/api/v1/sessions?all=1").json()
    assert {s["id"] for s in every} == {"sess-live", "sess-gone"}
    one = web.client.get("/api/v1/sessions/sess-l").json()
    assert one["id"] == "sess-live"
    assert one["timeline"][0]["status"] == "busy"


def test_actions_go_through_the_writer(web: Web) -> None:
    made = web.post_json("/api/v1/projects", {"name": "p", "description": "d"})
    assert made.status_code == 201
    assert made.json()["project"] == "p"
    added = web.post_json("/api/v1/tasks", {"project": "p", "title": "t", "tags": ["x"]})
    assert added.status_code == 201
    task_id = added.json()["task"]
    assert added.json()["events"][0]["seq"] > 0
    edited = web.post_json(f"/api/v1/tasks/{task_id}", {"priority": 3})
    assert edited.status_code == 200
    state = web.post_json(f"/api/v1/tasks/{task_id}/state", {"state": "in_progress"})
    assert state.json()["state"] == "in_progress"
    note = web.post_json(f"/api/v1/tasks/{task_id}/notes", {"text": "going"})
    assert note.status_code == 201
    assigned = web.post_json(f"/api/v1/tasks/{task_id}/assign", {"assignee": "host:beta"})
    assert assigned.json()["assignee"] == "host:beta"
    unassigned = web.post_json(f"/api/v1/tasks/{task_id}/unassign", {})
    assert unassigned.status_code == 200
    task = web.client.get(f"/api/v1/tasks/{task_id}").json()
    assert task["priority"] == 3
    assert task["notes"] == 1
    assert task["history"][-1]["data"]["author"] == "tester@alpha"


def test_broadcast_reaches_the_writer(web: Web) -> None:
    response = web.post_json("/api/v1/messages", {"text": "hello all"})
    if response.status_code == 201:
        messages = web.client.get("/api/v1/messages").json()
        assert messages[0]["text"] == "hello all"
    else:  # a Clare without messages: the writer's refusal, as JSON
        assert response.status_code == 400
        assert "message.send" in response.json()["error"]["message"]


def test_errors_are_json_with_a_status_that_says_whose_fault(web: Web) -> None:
    task_id = _project(web)
    missing = web.client.get("/api/v1/tasks/t-nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    conflict = web.post_json(f"/api/v1/tasks/{task_id}/state", {"state": "review"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "invalid_transition"
    bad = web.post_json("/api/v1/tasks", {"project": "api", "title": 7})
    assert bad.status_code == 400
    assert "title must be text" in bad.json()["error"]["message"]
    assert web.client.get("/api/v1/tasks?state=sideways").status_code == 400
    form = web.client.post(
        "/api/v1/tasks", data={"project": "api"}, headers={"sec-fetch-site": "same-origin"}
    )
    assert form.status_code == 400
    assert "JSON" in form.json()["error"]["message"]
    broken = web.client.post(
        "/api/v1/tasks", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400
    not_object = web.post_json("/api/v1/tasks", [1, 2])
    assert "JSON object" in not_object.json()["error"]["message"]
    big = web.post_json("/api/v1/tasks", {"project": "api", "title": "x" * 300_000})
    assert big.status_code == 413
    assert big.json()["error"]["code"] == "too_large"
    # Refused from the declared length alone, before a byte of the body is read.
    declared = web.client.post(
        "/api/v1/tasks",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": "400000000"},
    )
    assert declared.status_code == 413
    # The media type is compared whole: a form type that mentions JSON is a form.
    for sneaky in ("text/plain; charset=application/json", "application/json-seq"):
        posed = web.client.post(
            "/api/v1/projects", content=b'{"name": "sneaky"}', headers={"content-type": sneaky}
        )
        assert posed.status_code == 400, sneaky
    spaced = web.client.post(
        "/api/v1/projects",
        content=b'{"name": "typed"}',
        headers={"content-type": " Application/JSON ; charset=utf-8"},
    )
    assert spaced.status_code == 201
    nowhere = web.client.get("/api/v1/nothing")
    assert nowhere.status_code == 404
    assert nowhere.json()["error"]["code"] == "http_404"
    wrong_method = web.client.delete("/api/v1/tasks")
    assert wrong_method.status_code == 405


def test_writer_down_is_503(web: Web) -> None:
    from clare.bus.rpc import not_running

    class Down:
        async def call(self, op: str, args: object = None) -> dict[str, object]:
            raise not_running()

    web.ctx.commands = Down()
    response = web.post_json("/api/v1/projects", {"name": "x"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_tasks_are_searched_and_filtered_by_tag_as_the_cli_does(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "api"})
    parser = web.writer.call_sync(
        "task.add", {"project": "api", "title": "Write the parser", "tags": ["code"]}
    )["task"]
    web.writer.call_sync("task.add", {"project": "api", "title": "docs", "tags": ["docs"]})
    found = web.client.get("/api/v1/tasks?search=PARSER").json()
    assert [t["id"] for t in found] == [parser]
    assert [t["id"] for t in web.client.get("/api/v1/tasks?tag=code").json()] == [parser]


def test_dispatch_and_stop_are_requests_recorded_for_the_host_to_answer(web: Web) -> None:
    web.post_json("/api/v1/projects", {"name": "p"})
    task_id = web.post_json("/api/v1/tasks", {"project": "p", "title": "t"}).json()["task"]
    sent = web.post_json(f"/api/v1/tasks/{task_id}/dispatch", {"worktree": False})
    assert sent.status_code in (200, 201), sent.text
    (request,) = web.client.get(f"/api/v1/tasks/{task_id}").json()["dispatches"]
    assert (request["id"], request["worktree"]) == (sent.json()["request"], False)
    web.writer.observe("sess-stop-1", name="s")
    stop = web.post_json("/api/v1/sessions/sess-stop-1/stop", {})
    assert stop.status_code in (200, 201), stop.text
    (asked,) = web.client.get("/api/v1/sessions/sess-stop-1").json()["dispatches"]
    assert (asked["action"], asked["state"]) == ("stop", "requested")
