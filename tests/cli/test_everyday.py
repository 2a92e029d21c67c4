from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


def test_log_kind_filter_finds_old_events_on_a_busy_host(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    cli.fleet.call("project.add", name="beta")
    task = cli.fleet.call("task.add", project="alpha", title="busy")["task"]
    for i in range(20):
        cli.fleet.call("task.note", task=task, text=f"note {i}")
    rows = cli.json("log", "--kind", "Project*", "--limit", "2")
    assert [r["data"]["project"] for r in rows] == ["beta", "alpha"]


def test_log_kind_glob_keeps_fnmatch_negated_sets(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    cli.fleet.call("task.note", task=task, text="n")
    kinds = {r["kind"] for r in cli.json("log", "--kind", "Task[!C]*")}
    assert kinds == {"TaskNoted"}
