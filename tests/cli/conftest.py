from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from clare.core.errors import ClareError
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result

    from clare.runtime.paths import InstancePaths


@pytest.fixture
def paths(tmp_path: Path) -> InstancePaths:
    """An instance home with this host's config and an empty data folder."""
    home = paths_mod.resolve(tmp_path / "h")
    config_mod.save(home, config_mod.Config(machine_id=HOST, name="laptop"))
    home.data_dir.mkdir(parents=True)
    return home


class Cli:
    """The whole CLI run in this process on an instance whose writer is a ``Fleet``.

    Commands that write reach the fleet's writer core directly (no writer node
    runs), and reads see its projected views, so a command's output can be
    checked without starting a stack.
    """

    def __init__(
        self, paths: InstancePaths, monkeypatch: pytest.MonkeyPatch, machine_id: str = HOST
    ) -> None:
        from clare.app.instance import Instance

        self.paths = paths
        self.fleet = Fleet(paths.data_dir, machine_id=machine_id)

        def call(inst: Instance, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
            return self.fleet.call(op, **(args or {}))

        monkeypatch.setattr(Instance, "call", call)
        monkeypatch.setattr(Instance, "writer_seq", lambda inst: None)

    def run(self, *argv: str) -> Result:
        from typer.testing import CliRunner

        from clare.cli import root

        return CliRunner().invoke(
            root.build(), list(argv), prog_name="clare", env={"CLARE_HOME": str(self.paths.home)}
        )

    def ok(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    def json(self, *argv: str) -> Any:
        return json.loads(self.ok(*argv, "--json"))

    def error(self, *argv: str) -> str:
        """The one-line error a failing command prints (``ClareError``'s text)."""
        result = self.run(*argv)
        assert result.exit_code != 0, result.output
        exc = result.exception
        if isinstance(exc, ClareError):
            return str(exc)
        return result.output


@pytest.fixture
def cli(paths: InstancePaths, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(paths, monkeypatch)
