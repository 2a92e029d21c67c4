"""Page data: the board's columns, the task page's moves and links, node health."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from clare.app import status as app_status
from clare.core import hlc
from clare.web import pagedata

if TYPE_CHECKING:
    import pytest

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
    health = app_status.node_health(web.paths)
    assert health["writer"] == {"running": False, "pid": None, "restarts": 0, "given_up": None}


def test_the_sync_summary_is_computed_once_per_new_event(web: Web) -> None:
    cache = pagedata.SyncCache()
    first = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    again = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    assert again is first
    web.writer.observe("s-new")
    fresh = web.ctx.read_sync(lambda v, e: cache.get(v, e, web.config))
    assert fresh is not first


def test_the_status_is_read_once_per_state_of_the_databases(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    real = pagedata.stored_status

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pagedata, "stored_status", counted)
    cache = pagedata.StatusCache(pagedata.SyncCache())

    def status() -> dict[str, Any]:
        return web.ctx.read_sync(lambda v, e: cache.get(v, e, web.paths, web.config))

    first = status()
    assert status()["tasks"] is first["tasks"]
    assert len(made) == 1
    # What is not in the databases is read every time.
    monkeypatch.setattr(app_status, "node_health", lambda paths: {"writer": {"running": True}})
    assert status()["nodes"] == {"writer": {"running": True}}
    assert len(made) == 1
    web.writer.call_sync("project.add", {"name": "p"})
    web.writer.call_sync("task.add", {"project": "p", "title": "t"})
    moved = status()
    assert len(made) == 2
    assert moved["tasks"]["todo"] == first["tasks"].get("todo", 0) + 1
    assert moved["seq"] > first["seq"]
    fresh = web.ctx.read_sync(
        lambda v, e: pagedata.status(v, e, web.paths, web.config, pagedata.SyncCache())
    )
    assert {**moved, "nodes": None} == {**fresh, "nodes": None}


def test_concurrent_status_reads_make_the_document_once(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []
    real = pagedata.stored_status
    inside = threading.Barrier(2, timeout=5)

    def slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(1)
        time.sleep(0.1)  # long enough for the other reader to arrive and wait
        return real(*args, **kwargs)

    monkeypatch.setattr(pagedata, "stored_status", slow)
    cache = pagedata.StatusCache(pagedata.SyncCache())
    results: list[dict[str, Any]] = []

    def reader() -> None:
        inside.wait()
        results.append(web.ctx.read_sync(lambda v, e: cache.get(v, e, web.paths, web.config)))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert results[0]["tasks"] is results[1]["tasks"]


def test_the_board_leaves_archived_tasks_out_and_counts_them(web: Web) -> None:
    web.writer.call_sync("project.add", {"name": "b"})
    old = web.writer.call_sync("task.add", {"project": "b", "title": "old"})["task"]
    web.writer.call_sync("task.state", {"task": old, "state": "cancelled"})
    todo = web.writer.call_sync("task.add", {"project": "b", "title": "open"})["task"]
    # A cutoff after every stamp: the cancelled task counts as archived, the open one never.
    cutoff = hlc.pack(int(time.time() * 1000) + 60_000, 0)
    board = web.ctx.read_sync(lambda v, e: pagedata.board(v, e, "b", archived_before=cutoff))
    assert board["columns"]["cancelled"] == []
    assert [t["id"] for t in board["columns"]["todo"]] == [todo]
    assert board["archived"] == 1
    shown = web.client.get("/projects/b").text
    assert "open" in shown
