from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clare.cli import clidoc

if TYPE_CHECKING:
    import pytest

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_md_matches_the_typer_app() -> None:
    current = CLI_MD.read_text() if CLI_MD.exists() else ""
    assert current == clidoc.render(), (
        f"docs/cli.md is out of date with the CLI: regenerate it with `{clidoc.REGENERATE}`"
    )


def test_every_command_has_a_section_with_its_help() -> None:
    text = clidoc.render()
    for command in ("clare", "clare task add", "clare systemd install", "clare doctor"):
        assert f"## `{command}`\n" in text
    assert "Usage: clare systemd install [OPTIONS]" in text
    assert "--dry-run" in text


def test_hidden_commands_are_left_out_and_groups_are_walked() -> None:
    app = typer.Typer(name="demo", rich_markup_mode=None)
    group = typer.Typer(help="A group.", rich_markup_mode=None)
    app.add_typer(group, name="grp")

    @app.command()
    def shown() -> None:
        """Shown."""

    @app.command(hidden=True)
    def secret() -> None:
        """Secret."""

    @group.command()
    def leaf(count: int = 1) -> None:
        """A leaf of the group."""

    text = clidoc.render(app)
    assert "## `clare shown`" in text
    assert "## `clare grp leaf`" in text
    assert "--count" in text
    assert "secret" not in text.lower()


def test_the_output_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    before = clidoc.render()
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.setenv("CLARE_HOME", "/elsewhere")
    assert clidoc.render() == before
