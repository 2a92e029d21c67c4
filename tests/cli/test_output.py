from __future__ import annotations

from typing import TYPE_CHECKING

from clare.cli.output import safe, table

if TYPE_CHECKING:
    import pytest


def test_control_characters_are_shown_escaped() -> None:
    assert safe("a\x1b[31mred\x07 \x9b") == "a\\x1b[31mred\\x07 \\x9b"
    assert safe("plain ünïcode ✓") == "plain ünïcode ✓"


def test_table_cells_cannot_drive_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    table([["t-1", "title\x1b]0;pwned\x07\nnext"]], ["id", "title"])
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "title\\x1b]0;pwned\\x07 next" in out
