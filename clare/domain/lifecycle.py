"""Deciders of a whole task's or project's life beyond editing: import, delete, rename.

Kept apart from ``clare.domain.decide`` (which they build on) so that each module
holds one idea. Every one records events and never erases any: a deleted
task's history stays in the log, and a rename is a new project plus moves.
"""

from __future__ import annotations

import re
from typing import Any

from clare.core import ids
from clare.core.errors import UsageError
from clare.domain.decide import (
    MAX_TITLE,
    Context,
    Decision,
    StateReader,
    arg_list,
    arg_str,
    check_dependencies,
    decider,
    need_free_name,
    need_project,
    need_task,
    task_created,
)
from clare.domain.events import (
    DomainEvent,
    ProjectCreated,
    TaskStateChanged,
)
from clare.domain.lifecycle_events import ProjectDeleted, ProjectRenamed, TaskDeleted, TaskMoved
from clare.domain.states import TRANSITIONS

# --- projects ---------------------------------------------------------------------------


@decider("project.delete")
def _project_delete(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    """Delete a project and every task of it still there, at once."""
    project = need_project(state, arg_str(args, "name", max_len=64))
    author = arg_str(args, "author", default="", max_len=200)
    tasks = [t for t in state.tasks_of_project(project.name) if not t.deleted]
    events: list[DomainEvent] = [
        TaskDeleted(task=t.id, author=author, reason=f"project {project.name} deleted")
        for t in tasks
    ]
    events.append(ProjectDeleted(project=project.name, author=author))
    return Decision(events, {"project": project.name, "tasks_deleted": len(tasks)})


@decider("project.rename")
def _project_rename(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    project = need_project(state, arg_str(args, "name", max_len=64))
    new_name = ids.check_name(arg_str(args, "new_name", max_len=64), "project")
    if new_name == project.name:
        raise UsageError(f"project {project.name!r} is already called that")
    need_free_name(state, new_name)
    author = arg_str(args, "author", default="", max_len=200)
    tasks = [t for t in state.tasks_of_project(project.name) if not t.deleted]
    events: list[DomainEvent] = [
        ProjectCreated(project=new_name, description=project.description, paths=project.paths),
        *(
            TaskMoved(task=t.id, project=new_name, previous=project.name, author=author)
            for t in tasks
        ),
        ProjectRenamed(project=project.name, new_name=new_name, author=author),
    ]
    return Decision(events, {"project": new_name, "previous": project.name, "tasks": len(tasks)})


# --- tasks ------------------------------------------------------------------------------


_TASK_ID = re.compile(r"^t-[0-9a-f]{4,32}$")


@decider("task.import")
def _task_import(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    """A task from an export, under its own id: a task already here is left as it is,
    so importing one file twice adds nothing the second time."""
    task_id = arg_str(args, "task", max_len=64)
    if not _TASK_ID.match(task_id):
        raise UsageError(f"{task_id!r} is not a task id")
    if state.task(task_id) is not None:
        return Decision([], {"task": task_id, "created": False})
    project = need_project(state, arg_str(args, "project", max_len=64)).name
    title = arg_str(args, "title", max_len=MAX_TITLE).strip()
    if not title:
        raise UsageError("a task needs a title")
    target = arg_str(args, "state", default="todo", max_len=32)
    if target not in TRANSITIONS:
        raise UsageError(f"unknown task state {target!r}")
    deps = arg_list(args, "depends_on")
    check_dependencies(state, task_id, deps)
    author = arg_str(args, "author", default="", max_len=200)
    events: list[DomainEvent] = [task_created(args, task_id, project, title, deps)]
    if target != "todo":
        # Where the export says it was: no transition is checked, as none happened here.
        events.append(TaskStateChanged(task=task_id, state=target, previous="todo", author=author))
    return Decision(events, {"task": task_id, "created": True})


@decider("task.delete")
def _task_delete(args: dict[str, Any], state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, arg_str(args, "task", max_len=64))
    event = TaskDeleted(
        task=task.id,
        author=arg_str(args, "author", default="", max_len=200),
        reason=arg_str(args, "reason", default="", max_len=2000),
    )
    return Decision([event], {"task": task.id, "project": task.project})
