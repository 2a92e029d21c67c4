"""``clare export`` and ``clare import``: the fleet's projects, tasks and notes as a file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, safe, short_time
from clare.core.errors import UsageError

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("import")(import_)


def export(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print every project, task and note (--json: the file `clare import` reads)."""
    from clare.store import exchange

    inst: Instance = ctx.obj
    doc = exchange.export_document(inst.views(), inst.events())
    if json_out:
        emit_json(doc)
        return
    for project in doc["projects"]:
        print(
            f"# {project['name']}"
            + (f": {safe(project['description'])}" if project["description"] else "")
        )
        for task in (t for t in doc["tasks"] if t["project"] == project["name"]):
            print(f"- [{task['state']}] {task['id']} {safe(task['title'])}")
            for note in task["notes"]:
                who = safe(note["author"]) or "-"
                print(f"    {short_time(note['at'])} {who}: {safe(note['text'])}")
        print()


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A file `clare export --json` wrote ('-': stdin).")],
    dry_run: Annotated[bool, typer.Option(help="Say what would be added; add nothing.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Merge an export into this fleet: what is here already is not added again."""
    from clare.store import exchange

    inst: Instance = ctx.obj
    source = "stdin" if str(file) == "-" else str(file)
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source}: {exc}") from None
    doc = exchange.parse_document(text, source)
    plan = exchange.plan_import(doc, inst.views(), inst.events(), inst.author)
    if not dry_run:
        for command in plan.commands:
            inst.submit(command)
    result = {**plan.counts, "skipped": plan.skipped, "dry_run": dry_run}
    if json_out:
        emit_json(result)
        return
    verb = "would add" if dry_run else "added"
    print(
        f"{verb} {plan.counts['projects']} projects, {plan.counts['tasks']} tasks, "
        f"{plan.counts['notes']} notes; {plan.counts['present']} tasks were here already"
    )
    for line in plan.skipped:
        print(f"skipped {line}", file=sys.stderr)
