"""The HTML pages and their form actions, through Starlette's test client on trio."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from tests.web.conftest import Web


def _flash(response: object) -> dict[str, list[str]]:
    location = response.headers["location"]  # type: ignore[attr-defined]
    return parse_qs(urlsplit(location).query)


def _seed(web: Web) -> tuple[str, str]:
    web.writer.call_sync("project.add", {"name": "demo", "description": "the demo project"})
    first = web.writer.call_sync("task.add", {"project": "demo", "title": "Write the parser"})
    second = web.writer.call_sync(
        "task.add",
        {"project": "demo", "title": "Ship it <b>now</b>", "depends_on": [first["task"]]},
    )
    return first["task"], second["task"]


def test_overview_shows_counts_hosts_sessions_and_activity(web: Web) -> None:
    first, _ = _seed(web)
    web.writer.observe("sess-1234-abcd", name="parser-agent", project="demo", tokens_in=1500)
    web.writer.call_sync(
        "task.assign", {"task": first, "assignee_kind": "session", "assignee": "sess-1234-abcd"}
    )
    page = web.client.get("/")
    assert page.status_code == 200
    html = page.text
    assert "parser-agent" in html
    assert "beta" in html
    assert "alpha" in html
    assert "1.5k" in html  # tokens
    assert f'href="/tasks/{first}"' in html  # the session's current task
    assert "Write the parser" in html  # recent activity
    assert 'data-seq="' in html
    assert "/static/live.js" in html


def test_pages_escape_what_people_typed(web: Web) -> None:
    _, second = _seed(web)
    html = web.client.get(f"/tasks/{second}").text
    assert "Ship it &lt;b&gt;now&lt;/b&gt;" in html
    assert "<b>now</b>" not in html


def test_projects_and_board(web: Web) -> None:
    _first, _second = _seed(web)
    listing = web.client.get("/projects")
    assert listing.status_code == 200
    assert "the demo project" in listing.text
    board = web.client.get("/projects/demo")
    assert board.status_code == 200
    assert "Write the parser" in board.text
    assert 'class="dep s-todo"' in board.text  # the second waits on the first
    assert "ready" in board.text
    missing = web.client.get("/projects/nope")
    assert missing.status_code == 404
    assert "no project" in missing.text


def test_task_page_shows_history_notes_and_moves(web: Web) -> None:
    first, _second = _seed(web)
    web.writer.call_sync("task.note", {"task": first, "text": "half way"})
    page = web.client.get(f"/tasks/{first[:6]}")  # prefixes resolve
    assert page.status_code == 200
    assert "half way" in page.text
    assert "TaskCreated" in page.text
    assert 'value="in_progress"' in page.text
    assert "Needed by" in page.text
    assert web.client.get("/tasks/t-zzzz").status_code == 404


def test_sessions_and_session_page(web: Web) -> None:
    web.writer.observe("sess-aaaa-1111", name="agent-a", status="busy")
    web.writer.observe("sess-aaaa-1111", name="agent-a", status="waiting", waiting_for="input",
                       usage={"claude-opus-4-5": [0, 1_000_000, 0, 2_000_000, 0]})  # fmt: skip
    web.writer.observe("sess-bbbb-2222", name="agent-b", status="ended")
    live = web.client.get("/sessions").text
    assert "agent-a" in live
    assert "agent-b" not in live
    assert "agent-b" in web.client.get("/sessions?all=1").text
    page = web.client.get("/sessions/sess-aaaa")
    assert page.status_code == 200
    assert "Status timeline" in page.text
    assert "$26.00" in page.text  # a million output tokens of Opus 4.5, two million cache reads
    assert "2.0M" in page.text
    assert "waiting" in page.text
    assert "input" in page.text
    assert web.client.get("/sessions/nobody").status_code == 404


def test_messages_and_events_pages(web: Web) -> None:
    _seed(web)
    assert "Broadcast a message" in web.client.get("/messages").text
    events = web.client.get("/events?kind=Task*&limit=1")
    assert events.status_code == 200
    assert "TaskCreated" in events.text
    assert "ProjectCreated" not in events.text
    assert "Older" in events.text
    bad = web.client.get("/events?limit=x")
    assert bad.status_code == 400
    assert "whole number" in bad.text


def test_form_actions_change_state_through_the_writer(web: Web) -> None:
    first, _ = _seed(web)
    added = web.form(
        "/actions/task.add",
        {"project": "demo", "title": "From the page", "tags": "ui, web", "next": "/projects/demo"},
    )
    assert added.status_code == 303
    assert added.headers["location"].startswith("/projects/demo?")
    assert "added" in _flash(added)["ok"][0]
    board = web.client.get(added.headers["location"])
    assert "From the page" in board.text
    moved = web.form(
        "/actions/task.state", {"task": first, "state": "in_progress", "note": "on it"}
    )
    assert "in_progress" in _flash(moved)["ok"][0]
    noted = web.form("/actions/task.note", {"task": first, "text": "progress"})
    assert "note added" in _flash(noted)["ok"][0]
    edited = web.form("/actions/task.update", {"task": first, "title": "Renamed", "priority": "5"})
    assert "updated" in _flash(edited)["ok"][0]
    web.writer.observe("sess-cccc-3333", name="c")
    assigned = web.form(
        "/actions/task.assign",
        {"task": first, "assignee_kind": "session", "assignee": "sess-cccc-3333"},
    )
    assert "assigned" in _flash(assigned)["ok"][0]
    unassigned = web.form("/actions/task.unassign", {"task": first})
    assert "unassigned" in _flash(unassigned)["ok"][0]
    task = web.client.get(f"/api/v1/tasks/{first}").json()
    assert task["title"] == "Renamed"
    assert task["priority"] == 5
    assert task["state"] == "in_progress"
    assert task["notes"] == 2
    assert task["assignee"] is None
    project = web.form("/actions/project.add", {"name": "second", "description": "d"})
    assert "second" in _flash(project)["ok"][0]


def test_refused_actions_are_explained_on_the_page(web: Web) -> None:
    first, _ = _seed(web)
    done = web.form(
        "/actions/task.state", {"task": first, "state": "review", "next": f"/tasks/{first}"}
    )
    assert done.status_code == 303
    error = _flash(done)["error"][0]
    assert "cannot" in error
    shown = web.client.get(done.headers["location"])
    assert shown.status_code == 200
    assert "cannot send to review" in shown.text
    unknown = web.form("/actions/task.state", {"task": "t-nothing", "state": "done"})
    assert "no task" in _flash(unknown)["error"][0]
    bad_number = web.form("/actions/task.add", {"project": "demo", "title": "x", "priority": "hi"})
    assert "whole number" in _flash(bad_number)["error"][0]
    no_action = web.form("/actions/nothing", {})
    assert "unknown action" in _flash(no_action)["error"][0]


def test_form_without_the_csrf_token_is_refused(web: Web) -> None:
    response = web.client.post(
        "/actions/project.add",
        data={"name": "sneaky"},
        headers={"sec-fetch-site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "expired" in _flash(response)["error"][0]
    assert web.client.get("/api/v1/projects").json() == []


def test_redirects_never_leave_the_site(web: Web) -> None:
    response = web.form("/actions/project.add", {"name": "p1", "next": "https://evil.example/x"})
    assert response.headers["location"].startswith("/x?")  # only the path is kept
    response = web.form("/actions/project.add", {"name": "p2", "next": "//evil.example/x"})
    assert response.headers["location"].startswith("/x?")
    # Browsers read "/\\host" as "//host": such a path is not followed at all.
    response = web.form("/actions/project.add", {"name": "p3", "next": "/\\evil.example"})
    assert response.headers["location"].startswith("/?")


def test_writer_down_is_shown_not_a_bare_500(web: Web) -> None:
    from clare.bus.rpc import not_running

    async def down(op: str, args: object = None) -> dict[str, object]:
        raise not_running()

    web.ctx.commands = type("Down", (), {"call": staticmethod(down)})()
    response = web.form("/actions/project.add", {"name": "x"})
    assert "not running" in _flash(response)["error"][0]


def test_static_assets_come_from_the_package(web: Web) -> None:
    css = web.client.get("/static/clare.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]
    js = web.client.get("/static/live.js")
    assert js.status_code == 200
    assert "EventSource" in js.text
    assert "http" not in web.client.get("/").text.split("<main>")[0].replace("http-equiv", "")


def test_the_add_task_form_comes_before_the_cards(web: Web) -> None:
    _seed(web)
    board = web.client.get("/projects/demo").text
    assert board.index('id="add-task"') < board.index('class="task-card')


def test_the_sessions_list_says_what_a_waiting_session_waits_for(web: Web) -> None:
    web.writer.observe(
        "sess-aaaa-1111", name="agent-a", status="waiting", waiting_for="approve Bash"
    )
    assert "approve Bash" in web.client.get("/sessions").text


def test_the_board_filters_by_words_tag_and_assignee(web: Web) -> None:
    first, second = _seed(web)
    web.writer.call_sync("task.update", {"task": first, "tags": ["code"]})
    board = web.client.get("/projects/demo?q=parser").text
    assert "Write the parser" in board
    assert "Ship it" not in board
    assert "1 matching task" in board
    board = web.client.get("/projects/demo?tag=code").text
    assert ("Write the parser" in board, "Ship it" in board) == (True, False)
    board = web.client.get("/projects/demo?assignee=nobody").text
    assert 'class="task-card' not in board
    assert 'value="nobody"' in board  # the box keeps what was typed
    assert second in web.client.get("/projects/demo").text
    assert "/static/filter.js" in board
    assert web.client.get("/static/filter.js").status_code == 200


def test_deleting_a_task_and_renaming_and_deleting_a_project_from_the_page(web: Web) -> None:
    first, second = _seed(web)
    assert 'action="/actions/task.delete"' in web.client.get(f"/tasks/{first}").text
    done = web.form("/actions/task.delete", {"task": first, "reason": "twice"})
    assert done.headers["location"].startswith("/projects/demo?")
    assert _flash(done)["ok"] == [f"task {first} deleted"]
    board = web.client.get("/projects/demo").text
    assert "Write the parser" not in board
    assert 'class="dep s-deleted"' in board  # the second task waited on it
    assert "This task was deleted" in web.client.get(f"/tasks/{first}").text
    assert 'action="/actions/project.rename"' in web.client.get("/projects/demo").text
    renamed = web.form("/actions/project.rename", {"name": "demo", "new_name": "shop"})
    assert renamed.headers["location"].startswith("/projects/shop?")
    assert second in web.client.get("/projects/shop").text
    gone = web.form("/actions/project.delete", {"name": "shop"})
    assert _flash(gone)["ok"] == ["project shop deleted, with 1 tasks"]
    assert "/projects/shop" not in web.client.get("/projects").text


def test_a_task_in_review_shows_its_work_cost_and_the_two_actions(web: Web) -> None:
    first, _ = _seed(web)
    web.writer.call_sync("project.update", {"name": "demo", "review": True})
    model = "claude-sonnet-4-5"

    def observe(status: str, input_tokens: int) -> None:
        # On this host, so the writer's clock orders it after the claim, as it happened.
        snapshot = {"session": "sess-dddd-4444", "status": status, "last_activity": 1,
                    "usage": {model: [input_tokens, 100, 0, 0, 0]}}  # fmt: skip
        web.writer.call_sync("session.observe", {"snapshot": snapshot})

    observe("busy", 1000)
    web.writer.call_sync("task.claim", {"session": "sess-dddd-4444", "candidates": [first]})
    observe("idle", 1_001_000)
    work = {
        "cwd": "/w/demo", "branch": "feature/parser", "base": "main",
        "commits": ["ab" * 20 + " Write the <parser>"], "commits_total": 1,
        "files": ["12\t3\tparser.py"], "files_total": 1,
    }  # fmt: skip
    web.writer.call_sync("task.finish", {"task": first, "session": "sess-dddd-4444", "work": work})
    html = web.client.get(f"/tasks/{first}").text
    assert "feature/parser" in html
    assert "Write the &lt;parser&gt;" in html
    assert "parser.py" in html
    assert "+12 -3" in html
    assert "$3.00" in html  # a million input tokens of Sonnet 4.5 while it held the task
    assert 'value="approve"' in html
    assert 'value="request_changes"' in html
    sent = web.form(
        "/actions/task.review",
        {"task": first, "verdict": "request_changes", "text": "add tests"},
    )
    assert "in_progress" in _flash(sent)["ok"][0]
    (message,) = web.client.get("/api/v1/messages").json()
    assert message["target"] == "session:sess-dddd-4444"
    assert "add tests" in message["text"]
    assert 'value="approve"' not in web.client.get(f"/tasks/{first}").text
    web.writer.call_sync("task.finish", {"task": first, "session": "sess-dddd-4444"})
    approved = web.post_json(f"/api/v1/tasks/{first}/review", {"verdict": "approve"})
    assert approved.status_code == 200, approved.text
    assert web.client.get(f"/api/v1/tasks/{first}").json()["state"] == "done"


def test_a_ready_task_offers_dispatch_to_hosts_that_accept_and_sessions_offer_stop(
    web: Web,
) -> None:
    first, second = _seed(web)
    page = web.client.get(f"/tasks/{first}").text
    assert "no host takes dispatch now" in page
    web.writer.call_sync("dispatch.offer", {"enabled": True, "max_sessions": 2})
    page = web.client.get(f"/tasks/{first}").text
    assert 'action="/actions/dispatch"' in page
    assert "(2 free)" in page
    assert "only a ready task" in web.client.get(f"/tasks/{second}").text
    machine = web.client.get("/api/v1/dispatch/hosts").json()[0]["machine_id"]
    sent = web.form("/actions/dispatch", {"task": first, "host": machine, "worktree": "1"})
    assert "sent to its host" in _flash(sent)["ok"][0]
    (request,) = web.client.get(f"/api/v1/tasks/{first}").json()["dispatches"]
    assert (request["state"], request["worktree"]) == ("requested", True)
    assert request["id"] in web.client.get(f"/tasks/{first}").text

    web.writer.observe("sess-dddd-4444", name="d")
    page = web.client.get("/sessions/sess-dddd-4444").text
    assert 'action="/actions/session.stop"' in page
    stopped = web.form("/actions/session.stop", {"session": "sess-dddd-4444"})
    assert "stop" in _flash(stopped)["ok"][0]
    page = web.client.get("/sessions/sess-dddd-4444").text
    assert "Dispatched" in page
