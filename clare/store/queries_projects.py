"""Reads of the projects view for the CLI and the page: each project with its tasks
counted by state, and one project with its tasks.

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from clare.core.errors import NotFound
from clare.store.queries_common import iso
from clare.store.queries_tasks import list_tasks

if TYPE_CHECKING:
    import sqlite3


def list_projects(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    counts: dict[str, dict[str, int]] = {}
    for project, state, n in conn.execute(
        "SELECT project, state, COUNT(*) FROM tasks WHERE deleted = 0 GROUP BY project, state"
    ):
        counts.setdefault(project, {})[state] = n
    return [
        {
            "name": name,
            "description": description,
            "paths": json.loads(paths),
            "created_at": iso(created_at),
            "updated_at": iso(updated_at),
            "tasks": counts.get(name, {}),
            "review": bool(review),
        }
        for name, description, paths, created_at, updated_at, review in conn.execute(
            "SELECT name, description, paths, created_at, updated_at, review FROM projects "
            "WHERE deleted = 0 ORDER BY name"
        )
    ]


def get_project(conn: sqlite3.Connection, name: str) -> dict[str, Any]:
    for project in list_projects(conn):
        if project["name"] == name:
            project["task_list"] = list_tasks(conn, project=name)
            return project
    raise NotFound(f"no project {name!r}")
