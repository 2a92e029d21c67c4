"""Export the fleet's projects, tasks and notes as one JSON document, and plan its import.

The document names every task by its id, which is unique across hosts, so an
import can tell what is already here: a project by its name, a task by its
id, a note by its task, text and author. ``plan_import`` turns a document into
the writer commands that add only what is missing, in an order the writer
accepts (projects, then tasks after the tasks they depend on, then notes).
Importing the same file twice therefore adds nothing the second time.

Assignments are not exported: they name sessions, hosts and groups of one
fleet, which mean nothing to another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, UsageError
from clare.domain.commands import ProjectAdd, TaskImport, TaskNote
from clare.store import lookups, queries_common, queries_projects, queries_tasks

if TYPE_CHECKING:
    import sqlite3

    from clare.domain.command import Command

FORMAT = "clare-export"
VERSION = 1
#: What the export keeps of a task (besides its notes).
TASK_FIELDS = (
    "id", "project", "title", "body", "priority", "tags", "depends_on", "state", "created_at",
)  # fmt: skip


def export_document(views: sqlite3.Connection, events: sqlite3.Connection) -> dict[str, Any]:
    """Every project and task (deleted ones left out; archived ones kept) with its notes."""
    notes = notes_by_task(events)
    tasks = [
        {key: task[key] for key in TASK_FIELDS} | {"notes": notes.get(task["id"], [])}
        for task in queries_tasks.list_tasks(views)
    ]
    projects = [
        {"name": p["name"], "description": p["description"], "paths": p["paths"]}
        for p in queries_projects.list_projects(views)
    ]
    return {"format": FORMAT, "version": VERSION, "projects": projects, "tasks": tasks}


def notes_by_task(events: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    """Every task's notes, oldest first, read from the log (the views keep only a count)."""
    from clare.core.events import Event
    from clare.domain.events import TaskNoted
    from clare.domain.fold import decode_body

    notes: dict[str, list[dict[str, Any]]] = {}
    for row in events.execute(
        "SELECT seq, id, origin, origin_seq, hlc, kind, body FROM events "
        "WHERE kind = 'TaskNoted' ORDER BY hlc, origin"
    ):
        event = Event(*row)
        try:
            noted = decode_body(event.id, event.kind, event.body)
        except ClareError:
            continue  # an undecodable event is the log's to report, not the export's
        if isinstance(noted, TaskNoted):
            notes.setdefault(noted.task, []).append(
                {"text": noted.text, "author": noted.author, "at": queries_common.iso(event.hlc)}
            )
    return notes


@dataclass
class ImportPlan:
    """The writer commands that add what a document has and this fleet lacks."""

    commands: list[Command] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what could not be imported, and why
    counts: dict[str, int] = field(
        default_factory=lambda: {"projects": 0, "tasks": 0, "notes": 0, "present": 0}
    )


def parse_document(text: str, source: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{source} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UsageError(f"{source} is not a Clare export (`clare export --json` makes one)")
    if doc.get("version") != VERSION:
        raise UsageError(
            f"{source} is a version {doc.get('version')!r} export; this reads {VERSION}"
        )
    if not isinstance(doc.get("projects"), list) or not isinstance(doc.get("tasks"), list):
        raise UsageError(f"{source} lacks its projects or tasks lists")
    return doc


def plan_import(
    doc: dict[str, Any], views: sqlite3.Connection, events: sqlite3.Connection, author: str
) -> ImportPlan:
    """The commands that merge ``doc`` into this fleet, without duplicates."""
    plan = ImportPlan()
    known_projects = {r[0]: bool(r[1]) for r in views.execute("SELECT name, deleted FROM projects")}
    for project in doc["projects"]:
        name = _field(project, "name", str)
        if name in known_projects:
            if known_projects[name]:
                plan.skipped.append(f"project {name}: deleted here")
            continue
        description = _field(project, "description", str, "")
        plan.commands.append(ProjectAdd(name=name, description=description))
        known_projects[name] = False
        plan.counts["projects"] += 1
    here = lookups.task_states(views)
    notes_here = notes_by_task(events)
    tasks = {t["id"]: t for t in (_task(t) for t in doc["tasks"])}
    for task in _dependencies_first(tasks):
        task_id = task["id"]
        if task_id in here:
            plan.counts["present"] += 1
        elif known_projects.get(task["project"], True):
            plan.skipped.append(f"task {task_id}: its project {task['project']} is not here")
            continue
        else:
            deps = [d for d in task["depends_on"] if d in here or d in tasks]
            for missing in sorted(set(task["depends_on"]) - set(deps)):
                plan.skipped.append(f"task {task_id}: dependency {missing} is in neither")
            plan.commands.append(
                TaskImport(
                    task=task_id,
                    project=task["project"],
                    title=task["title"],
                    body=task["body"],
                    priority=task["priority"],
                    tags=tuple(task["tags"]),
                    state=task["state"],
                    depends_on=tuple(deps),
                    author=author,
                )
            )
            here[task_id] = task["state"]
            plan.counts["tasks"] += 1
        seen = {(n["text"], n["author"]) for n in notes_here.get(task_id, [])}
        for note in task["notes"]:
            if (note["text"], note["author"]) in seen:
                continue
            seen.add((note["text"], note["author"]))
            plan.commands.append(TaskNote(task=task_id, text=note["text"], author=note["author"]))
            plan.counts["notes"] += 1
    return plan


def _field(item: Any, name: str, kind: type, default: Any = None) -> Any:
    value = item.get(name, default) if isinstance(item, dict) else None
    if not isinstance(value, kind):
        raise UsageError(
            f"the export has an entry whose {name!r} is not {kind.__name__}: {item!r:.80}"
        )
    return value


def _task(item: Any) -> dict[str, Any]:
    notes = [
        {"text": _field(n, "text", str), "author": _field(n, "author", str, "")}
        for n in _field(item, "notes", list, [])
    ]
    return {
        "id": _field(item, "id", str),
        "project": _field(item, "project", str),
        "title": _field(item, "title", str),
        "body": _field(item, "body", str, ""),
        "priority": _field(item, "priority", int, 0),
        "tags": [str(t) for t in _field(item, "tags", list, [])],
        "depends_on": [str(d) for d in _field(item, "depends_on", list, [])],
        "state": _field(item, "state", str, "todo"),
        "notes": notes,
    }


def _dependencies_first(tasks: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks ordered so that each comes after the tasks of the file it depends on.

    Depth first without recursion: a long chain of dependencies must not hit
    Python's recursion limit. A cycle (a hand-edited file) is cut where it closes;
    the writer then refuses the edge that would close it.
    """
    ordered: list[dict[str, Any]] = []
    state: dict[str, int] = {}  # 1: being visited, 2: placed
    for root in tasks:
        stack = [(root, iter(tasks[root]["depends_on"]))]
        state.setdefault(root, 1)
        if state[root] == 2:
            continue
        while stack:
            task_id, deps = stack[-1]
            dep = next((d for d in deps if d in tasks and d not in state), None)
            if dep is not None:
                state[dep] = 1
                stack.append((dep, iter(tasks[dep]["depends_on"])))
                continue
            stack.pop()
            state[task_id] = 2
            ordered.append(tasks[task_id])
    return ordered
