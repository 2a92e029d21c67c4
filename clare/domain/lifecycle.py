"""Deciders of a whole task's or project's life beyond editing: import, delete, rename.

Kept apart from ``clare.domain.decide`` (which they build on) so that each module
holds one idea. Every one records events and never erases any: a deleted
task's history stays in the log, and a rename is a new project plus moves.
"""

from __future__ import annotations

import re

from clare.core import ids
from clare.core.errors import UsageError
from clare.domain.commands import ProjectDelete, ProjectRename, TaskDelete, TaskImport
from clare.domain.decide import (
    Context,
    Decision,
    StateReader,
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


@decider(ProjectDelete)
def _project_delete(cmd: ProjectDelete, state: StateReader, ctx: Context) -> Decision:
    """Delete a project and every task of it still there, at once."""
    project = need_project(state, cmd.name)
    author = cmd.author
    tasks = [t for t in state.tasks_of_project(project.name) if not t.deleted]
    events: list[DomainEvent] = [
        TaskDeleted(task=t.id, author=author, reason=f"project {project.name} deleted")
        for t in tasks
    ]
    events.append(ProjectDeleted(project=project.name, author=author))
    return Decision(events, {"project": project.name, "tasks_deleted": len(tasks)})


@decider(ProjectRename)
def _project_rename(cmd: ProjectRename, state: StateReader, ctx: Context) -> Decision:
    project = need_project(state, cmd.name)
    new_name = ids.check_name(cmd.new_name, "project")
    if new_name == project.name:
        raise UsageError(f"project {project.name!r} is already called that")
    need_free_name(state, new_name)
    author = cmd.author
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


@decider(TaskImport)
def _task_import(cmd: TaskImport, state: StateReader, ctx: Context) -> Decision:
    """A task from an export, under its own id: a task already here is left as it is,
    so importing one file twice adds nothing the second time."""
    task_id = cmd.task
    if not _TASK_ID.match(task_id):
        raise UsageError(f"{task_id!r} is not a task id")
    if state.task(task_id) is not None:
        return Decision([], {"task": task_id, "created": False})
    project = need_project(state, cmd.project).name
    title = cmd.title.strip()
    if not title:
        raise UsageError("a task needs a title")
    target = cmd.state
    if target not in TRANSITIONS:
        raise UsageError(f"unknown task state {target!r}")
    check_dependencies(state, task_id, cmd.depends_on)
    author = cmd.author
    events: list[DomainEvent] = [task_created(cmd, task_id, project, title)]
    if target != "todo":
        # Where the export says it was: no transition is checked, as none happened here.
        events.append(TaskStateChanged(task=task_id, state=target, previous="todo", author=author))
    return Decision(events, {"task": task_id, "created": True})


@decider(TaskDelete)
def _task_delete(cmd: TaskDelete, state: StateReader, ctx: Context) -> Decision:
    task = need_task(state, cmd.task)
    event = TaskDeleted(task=task.id, author=cmd.author, reason=cmd.reason)
    return Decision([event], {"task": task.id, "project": task.project})
