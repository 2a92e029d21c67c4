"""Page data: the board's columns, the task page's moves and links, node health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.web import pagedata

if TYPE_CHECKING:
    from tests.web.conftest import Web


def test_board_columns_and_dependency_states(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "b"})
    first = web.writer.call_sync("task.add", {"project": "b", "title": "one"})["task"]
    second = web.writer.call_sync(
        "task.add", {"project": "b", "title": "two", "depends_on": [first]}
    )["task"]
    web.writer.call_sync("task.state", {"task": first, "state": "done"})
    board = web.ctx.read_sync(lambda v, e: pagedata.board(v, e, "b"))
    assert [t["id"] for t in board["columns"]["done"]] == [first]
    (waiting,) = board["columns"]["todo"]
    assert waiting["id"] == second
    assert waiting["ready"] is True
    assert waiting["deps"] == [{"id": first, "state": "done"}]
    assert list(board["columns"]) == [
        "todo",
        "in_progress",
        "blocked",
        "review",
        "done",
        "cancelled",
    ]


def test_task_page_moves_dependents_and_notes(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "b"})
    first = web.writer.call_sync("task.add", {"project": "b", "title": "one"})["task"]
    second = web.writer.call_sync(
        "task.add", {"project": "b", "title": "two", "depends_on": [first]}
    )["task"]
    web.writer.call_sync("task.note", {"task": first, "text": "n"})
    page = web.ctx.read_sync(lambda v, e: pagedata.task_page(v, e, first))["task"]
    assert {m["state"] for m in page["moves"]} == {"in_progress", "blocked", "done", "cancelled"}
    assert page["dependents"] == [{"id": second, "state": "todo", "title": "two"}]
    assert [n["data"]["text"] for n in page["note_list"]] == ["n"]


def test_node_health_without_clare_up(web: Web) -> None:
    health = pagedata.node_health(web.paths)
    assert health["writer"] == {"running": False, "pid": None, "restarts": 0}


def test_the_sync_summary_is_computed_once_per_new_event(web: Web) -> None:
    cache = pagedata.SyncCache()
    first = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    again = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    assert again is first
    web.writer.observe("s-new")
    fresh = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    assert fresh is not first
