"""What each page and API read shows, gathered from the two read-only connections.

Plain synchronous functions (they run in a worker thread, see
``WebContext.read``). Each returns the dict its template renders; the JSON
API returns the same dicts, so the page and ``/api/v1`` never disagree.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from clare.app.status import live_status
from clare.domain.states import STATES, TRANSITIONS, VERBS
from clare.store import (
    lookups,
    queries_dispatch,
    queries_events,
    queries_hosts,
    queries_projects,
    queries_sessions,
    queries_tasks,
)
from clare.store import views as views_mod
from clare.store.tally import OriginTally
from clare.web import reads

if TYPE_CHECKING:
    import sqlite3

    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths


class SyncCache:
    """The sync summary, assembled again only when the events or the views moved.

    What the events table holds of each host comes from an ``OriginTally``,
    which reads only the rows that are new since the last call.
    """

    def __init__(self) -> None:
        self.tally = OriginTally()
        self._key: tuple[int, int] | None = None
        self._value: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, views: sqlite3.Connection, events: sqlite3.Connection, config: Config) -> Any:
        seq, held = self.tally.update(events)
        # The host names shown come from the views: they move the summary too.
        key = (seq, views_mod.position(views))
        with self._lock:
            if key == self._key:
                return self._value
        value = reads.sync_state(views, events, config, held)
        with self._lock:
            self._key, self._value = key, value
        return value


class StatusCache:
    """``/api/v1/status``: the part read from the databases, once per state of them.

    Everything ``status`` reads from the two databases is a function of the
    views' position and the events' last seq (views are a fold of the events
    up to their position; the events table only grows), so while neither has
    moved the document is the same and is served again. What is not in the
    databases (is each node running, is `clare up` running) is read on every
    call. Callers that arrive while the document is being made wait for it
    instead of making it too: sixteen clients used to mean sixteen copies.
    """

    def __init__(self, sync: SyncCache) -> None:
        self.sync = sync
        self._key: tuple[int, int] | None = None
        self._value: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(
        self,
        views: sqlite3.Connection,
        events: sqlite3.Connection,
        paths: InstancePaths,
        config: Config,
    ) -> dict[str, Any]:
        """The status document; nested values are shared between calls: do not change them."""
        # Read before the rest: what is read after is at least as new as this key.
        key = (views_mod.position(views), reads.last_seq(events))
        with self._lock:
            if key != self._key:
                self._value = stored_status(views, events, config, self.sync)
                self._key = key
            stored = self._value
        return {**live_status(paths, config), **stored}


def stored_status(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    config: Config,
    sync: SyncCache,
    sessions: list[dict[str, Any]] | None = None,
    projects: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The part of the status read from the two databases."""
    if projects is None:
        projects = queries_projects.list_projects(views)
    by_status: dict[str, int] = {}
    if sessions is None:
        by_status = queries_sessions.live_status_counts(views)
    else:
        for s in sessions:
            key = s["status"] or "unknown"
            by_status[key] = by_status.get(key, 0) + 1
    return {
        "tasks": queries_tasks.task_counts(views),
        "projects": len(projects),
        "hosts": queries_hosts.list_hosts(views, events),
        "events": sum(
            n for k, n in queries_events.event_counts(views).items() if not k.startswith("~")
        ),
        "seq": reads.last_seq(events),
        "sessions": {"live": sum(by_status.values()), "by_status": by_status},
        "sync": sync.get(views, events, config),
    }


def status(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    paths: InstancePaths,
    config: Config,
    sync: SyncCache,
    sessions: list[dict[str, Any]] | None = None,
    projects: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The fields of `clare status --json`, plus sync state and session counts."""
    return {
        **live_status(paths, config),
        **stored_status(views, events, config, sync, sessions, projects),
    }


def overview(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    paths: InstancePaths,
    config: Config,
    sync: SyncCache,
) -> dict[str, Any]:
    sessions = reads.list_sessions(views, live_only=True)
    projects = queries_projects.list_projects(views)
    data = status(views, events, paths, config, sync, sessions, projects)
    names = queries_hosts.host_names(views)
    data["session_list"] = sessions
    data["project_list"] = projects
    data["recent"] = reads.list_events(events, names, limit=25)
    data["states"] = [*STATES, "ready"]
    return data


#: The board's filter fields, as its query string names them.
BOARD_FILTERS = ("q", "tag", "assignee")


def board(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    name: str,
    filters: dict[str, str] | None = None,
    archived_before: int | None = None,
) -> dict[str, Any]:
    """A project with its tasks in columns by state, dependencies marked done or waiting.

    ``filters`` (``q`` words, ``tag``, ``assignee``) narrow the cards as ``task
    list`` does; archived tasks (done or cancelled before ``archived_before``)
    are left out and counted.
    """
    filters = {k: v.strip() for k, v in (filters or {}).items() if k in BOARD_FILTERS and v.strip()}
    project = queries_projects.get_project(views, name)
    shown = queries_tasks.list_tasks(
        views,
        project=name,
        search=filters.get("q"),
        tag=filters.get("tag"),
        assignee=filters.get("assignee"),
        archived_before=archived_before,
    )
    unfiltered = queries_tasks.list_tasks(views, project=name, archived_before=archived_before)
    states = lookups.task_states(views)
    columns: dict[str, list[dict[str, Any]]] = {state: [] for state in STATES}
    for task in shown:
        task["deps"] = [{"id": d, "state": states.get(d, "unknown")} for d in task["depends_on"]]
        columns[task["state"]].append(task)
    return {
        "project": project,
        "columns": columns,
        "filters": filters,
        "shown": len(shown),
        "archived": len(project["task_list"]) - len(unfiltered),
        "seq": reads.last_seq(events),
    }


def task_page(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    task_id: str,
    config: Config | None = None,
    now_ms: int = 0,
) -> dict[str, Any]:
    """The task with its work record and, given the config (for prices), what it cost."""
    task = queries_tasks.get_task(views, events, task_id)
    states = {t["id"]: (t["state"], t["title"]) for t in queries_tasks.list_tasks(views)}
    task["deps"] = [
        {"id": d, "state": states.get(d, ("unknown", ""))[0], "title": states.get(d, ("", ""))[1]}
        for d in task["depends_on"]
    ]
    task["dependents"] = [
        {"id": t["id"], "state": t["state"], "title": t["title"]}
        for t in queries_tasks.list_tasks(views)
        if task_id in t["depends_on"]
    ]
    task["note_list"] = [e for e in task["history"] if e["kind"] == "TaskNoted"]
    task["moves"] = [
        {"state": target, "verb": VERBS[target]} for target in sorted(TRANSITIONS[task["state"]])
    ]
    task["cost"] = None
    if config is not None:
        from clare.app.cost import cost_report

        report = cost_report(views, events, config, by="task", task_ids=[task_id], now_ms=now_ms)
        task["cost"] = report["total"]
    # The page offers only hosts that accept dispatch and have room.
    task["dispatch_hosts"] = [h for h in queries_dispatch.dispatch_hosts(views) if h["free"] > 0]
    return {"task": task, "seq": reads.last_seq(events)}


def resolve_task(views: sqlite3.Connection, prefix: str, *, deleted_too: bool = False) -> str:
    return queries_tasks.resolve_task(views, prefix, deleted_too=deleted_too)
