"""``clare project ...``: projects and where their repositories live on each host."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, short_time, table
from clare.core.errors import UsageError
from clare.domain.commands import ProjectAdd, ProjectDelete, ProjectRename, ProjectUpdate
from clare.store import queries_hosts, queries_projects

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

project_app = typer.Typer(
    help="Projects: create, list, show, update, rename, delete.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(project_app, name="project")


def _abs(path: str | None) -> str | None:
    """The repository folder as an absolute path; it must exist on this host."""
    if not path:
        return None
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(full):
        what = "is not a folder" if os.path.exists(full) else "does not exist"
        raise UsageError(f"{full} {what}: give the folder of the project's repository")
    return full


@project_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="lower-case letters, digits, '.', '_', '-'")],
    path: Annotated[
        str | None, typer.Option(help="The repository's folder on this host (it must exist).")
    ] = None,
    description: Annotated[str, typer.Option(help="What the project is.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Create a project."""
    inst: Instance = ctx.obj
    result = inst.submit(ProjectAdd(name=name, path=_abs(path), description=description))
    if json_out:
        emit_json(result)
    else:
        print(result["project"])


@project_app.command("update")
def update(
    ctx: typer.Context,
    name: str,
    path: Annotated[
        str | None, typer.Option(help="The repository's folder on this host (it must exist).")
    ] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    review: Annotated[
        bool | None,
        typer.Option(
            "--review/--no-review",
            help="Whether a task a session finishes (`clare done`) goes to review first.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a project's description, its repository path on this host, or its review rule."""
    inst: Instance = ctx.obj
    result = inst.submit(
        ProjectUpdate(name=name, path=_abs(path), description=description, review=review)
    )
    if json_out:
        emit_json(result)
    else:
        print(result["project"])


@project_app.command("path")
def path_(
    ctx: typer.Context,
    name: str,
    path: Annotated[str, typer.Argument(help="The repository's folder on this host.")],
    json_out: JsonOpt = False,
) -> None:
    """Set or change where the project's repository lives on this host.

    Each host keeps its own path: dispatch starts Claude Code there, and the
    sessions under it count as the project's.
    """
    inst: Instance = ctx.obj
    result = inst.submit(ProjectUpdate(name=name, path=_abs(path)))
    if json_out:
        emit_json({**result, "host": inst.config.name, "path": _abs(path)})
    else:
        print(f"{result['project']} on {inst.config.name}: {_abs(path)}")


@project_app.command("rename")
def rename(ctx: typer.Context, name: str, new_name: str, json_out: JsonOpt = False) -> None:
    """Rename a project; its tasks move with it, and its history keeps the old name."""
    inst: Instance = ctx.obj
    result = inst.submit(ProjectRename(name=name, new_name=new_name, author=inst.author))
    if json_out:
        emit_json(result)
    else:
        print(f"{name} is now {result['project']} ({result['tasks']} tasks moved)")


@project_app.command("delete")
def delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask first.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Delete a project and its tasks: they leave every list; their history stays."""
    inst: Instance = ctx.obj
    if not yes:
        count = sum(queries_projects.get_project(inst.views(), name)["tasks"].values())
        if not typer.confirm(f"delete project {name} and its {count} tasks?"):
            raise typer.Exit(1)
    result = inst.submit(ProjectDelete(name=name, author=inst.author))
    if json_out:
        emit_json(result)
    else:
        print(f"{name} deleted, with {result['tasks_deleted']} tasks")


@project_app.command("list")
def list_(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List projects with their task counts."""
    inst: Instance = ctx.obj
    projects = queries_projects.list_projects(inst.views())
    if json_out:
        emit_json(projects)
        return
    if not projects:
        print("no projects yet: add one with `clare project add NAME`")
        return
    rows = [
        [
            p["name"],
            sum(p["tasks"].values()),
            p["tasks"].get("in_progress", 0),
            p["tasks"].get("done", 0),
            p["description"],
        ]
        for p in projects
    ]
    table(rows, ["name", "tasks", "active", "done", "description"])


@project_app.command("show")
def show(ctx: typer.Context, name: str, json_out: JsonOpt = False) -> None:
    """Show a project, its folder on each host and its tasks."""
    inst: Instance = ctx.obj
    views = inst.views()
    project = queries_projects.get_project(views, name)
    hosts = queries_hosts.host_names(views)
    project["paths_by_host"] = {
        hosts.get(machine, machine): path for machine, path in sorted(project["paths"].items())
    }
    if json_out:
        emit_json(project)
        return
    print(f"project {project['name']}")
    if project["description"]:
        print(f"  {project['description']}")
    for host, path in project["paths_by_host"].items():
        print(f"  path on {host}: {path}")
    print(f"  created {short_time(project['created_at'])}")
    if project["review"]:
        print("  finished tasks go to review (`clare task review T --approve`)")
    rows = [
        [
            t["id"],
            t["state"] + ("*" if t["ready"] else ""),
            t["priority"],
            t["assignee"],
            t["title"],
        ]
        for t in project["task_list"]
    ]
    if rows:
        print()
        table(rows, ["id", "state", "prio", "assignee", "title"])
        print("(* ready: every dependency is done)")
