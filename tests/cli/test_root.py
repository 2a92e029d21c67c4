from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from clare.cli import root
from clare.cli.app import app as whole_app

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    # typer vendors its own click (typer._click) and no declared dependency brings the
    # real one: only the type is borrowed, never imported at run time.
    from typer._click import Command

WHOLE = typer.main.get_command(whole_app)


def _names(command: Command) -> set[str]:
    group: Any = command
    return set(group.list_commands(typer.Context(command)))


def _paths(command: Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path of the tree (root included), depth first."""
    yield prefix
    group: Any = command
    if hasattr(group, "list_commands"):
        for name in group.list_commands(typer.Context(command)):
            yield from _paths(group.get_command(typer.Context(command), name), (*prefix, name))


def test_the_command_table_matches_what_each_module_registers() -> None:
    assert set(root.COMMAND_MODULES.values()) == set(root.MODULES)
    for module in root.MODULES:
        registered = _names(typer.main.get_command(root.build([module])))
        table = {name for name, owner in root.COMMAND_MODULES.items() if owner == module}
        assert registered == table, module
    assert set(root.COMMAND_MODULES) == _names(WHOLE)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["task", "add", "x"], "task"),
        (["--home", "/h", "task", "list"], "task"),
        (["--home=/h", "note", "t-1", "x"], "note"),
        (["--home", "task", "list"], "list"),  # "task" is the home, as click reads it
        (["--home"], None),
        (["--help"], None),
        (["-h", "task"], None),
        (["--show-completion"], None),
        (["--", "task"], None),
        ([], None),
    ],
)
def test_command_name(argv: list[str], name: str | None) -> None:
    assert root.command_name(argv) == name


def test_only_the_named_command_is_built() -> None:
    command: Any = typer.main.get_command(root.for_argv(["--home", "/h", "task", "add", "x"]))
    assert _names(command) == {"task"}
    assert _names(command.get_command(typer.Context(command), "task")) == {"add"}
    assert _names(typer.main.get_command(root.for_argv(["note", "t-1"]))) == {"note"}
    # Unsure below the top: the task group whole, and the module's other commands not.
    for argv in (["task"], ["task", "--help", "add"], ["task", "nosuch"]):
        command = typer.main.get_command(root.for_argv(argv))
        assert _names(command) == {"task"}
        group = command.get_command(typer.Context(command), "task")
        assert _names(group) == _names(WHOLE.get_command(typer.Context(WHOLE), "task"))  # type: ignore[attr-defined]
    # Commands named by Typer from their function (`clare init`) are kept with their module.
    assert _names(typer.main.get_command(root.for_argv(["init"]))) == {
        "init", "up", "node", "status", "rebuild", "verify"}  # fmt: skip
    for argv in (["nosuch"], ["--help"], [], ["--bogus", "task"]):
        assert _names(typer.main.get_command(root.for_argv(argv))) == _names(WHOLE)


def test_shell_completion_gets_the_whole_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_CLARE_COMPLETE", "complete_bash")
    assert _names(typer.main.get_command(root.for_argv(["task"]))) == _names(WHOLE)


def _outcome(app: typer.Typer, argv: list[str], home: Path) -> tuple[Any, ...]:
    result = CliRunner().invoke(app, argv, prog_name="clare", env={"CLARE_HOME": str(home)})
    exc = result.exception
    error = None if isinstance(exc, SystemExit) or exc is None else (type(exc), str(exc))
    return result.exit_code, result.output, error


def _samples(missing: Path) -> Iterator[list[str]]:
    # Nothing here may run a command for real (`init` would make an instance, `up`
    # start one): help, usage errors, and commands failing on an instance that
    # does not exist.
    for path in _paths(WHOLE):
        if path:
            yield [*path, "--help"]
            group: Any = WHOLE
            for name in path:
                group = group.get_command(typer.Context(group), name)
            if hasattr(group, "list_commands"):
                yield list(path)  # a group's usage
    yield from (
        ["task", "add"],
        ["task", "add", "x"],
        ["task", "add", "x", "-p", "y", "--priority", "high"],
        ["--home", str(missing), "task", "add", "x", "-p", "y"],
        [f"--home={missing}", "task", "list", "--json"],
        ["task", "list", "--state", "nope"],
        ["task", "show", "t-1"],
        ["status", "--json"],
        ["note", "t-1"],
        ["task", "nosuch"],
        ["task", "add", "--nosuch"],
        ["-h"],
        ["nosuch", "--help"],
    )


def test_every_command_line_comes_out_as_from_the_whole_app(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    for argv in _samples(missing):
        lazy = _outcome(root.for_argv(argv), argv, missing)
        assert lazy == _outcome(whole_app, argv, missing), argv
    assert not missing.exists()


_SCRIPT = """
import sys
from clare.cli import main, root
if sys.argv.pop(1) == "whole":
    root.for_argv = lambda argv: root.build()
main.main()
"""


def test_the_clare_process_exits_as_with_the_whole_app(tmp_path: Path) -> None:
    env = {**os.environ, "CLARE_HOME": str(tmp_path / "missing")}
    for argv in (["task", "add", "x", "-p", "y"], ["task", "add"], ["task", "list", "-h"]):
        done = [
            subprocess.run(
                [sys.executable, "-c", _SCRIPT, way, *argv],
                env=env,
                capture_output=True,
                check=False,
                timeout=30,
            )
            for way in ("lazy", "whole")
        ]
        lazy, whole = ((d.returncode, d.stdout, d.stderr) for d in done)
        assert lazy == whole, argv
        assert lazy[0] in (0, 1, 2)


_IMPORTS = """
import sys
import typer.main
from clare.cli import root
typer.main.get_command(root.for_argv(sys.argv[1:]))
print(" ".join(sorted(sys.modules)))
"""


def _imported(*argv: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *argv], capture_output=True, check=True, timeout=30
    )
    return set(done.stdout.decode().split())


def test_task_add_starts_without_the_store_the_domain_or_other_commands() -> None:
    # What `clare task add` pays for at every start: a regression here costs each
    # task created by a script or an agent.
    loaded = _imported("task", "add", "x", "-p", "y")
    heavy = {"sqlite3", "trio", "clare.sessions"}
    assert not loaded & heavy
    assert not {m for m in loaded if m.startswith("clare.store.queries_")}  # no reads of the views
    # The task states are a constant of the domain, and the command is a plain record;
    # the domain's events, deciders and folds are not read.
    light = {"clare.domain.states", "clare.domain.command", "clare.domain.commands",
             "clare.domain.targets"}  # fmt: skip
    assert {m for m in loaded if m.startswith("clare.domain.")} <= light
    assert not {m for m in loaded if m.startswith("clare.cli.cmd_")} - {"clare.cli.cmd_tasks"}
    assert "clare.cli.cmd_agent" in _imported("--help")
