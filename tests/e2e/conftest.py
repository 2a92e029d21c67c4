"""Fixtures that run a real Claude Code offline.

``claude`` is the one most tests want: a :class:`ClaudeRunner` with its own
HOME, talking to its own :class:`FakeAnthropicAPI` (``fake_api``), whose script
the test sets with ``fake_api.set_script({"bash": "..."})``::

    @pytest.mark.e2e
    def test_something(claude, fake_api, tmp_path):
        fake_api.set_script({"bash": "echo hi"})
        run = claude.run("go", cwd=tmp_path)
        assert run.result["is_error"] is False

A machine without Node.js or npm fails these tests with a message saying so:
they are never skipped silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .claude import ClaudeCodeUnavailable, ClaudeRunner, install_claude_code, write_home
from .fake_api import FakeAnthropicAPI

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def claude_code_binary() -> Path:
    """The ``claude`` binary of the pinned Claude Code, installed on first use."""
    try:
        return install_claude_code()
    except ClaudeCodeUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[FakeAnthropicAPI]:
    """A fake Messages API on a free loopback port; requests are logged in its log file."""
    with FakeAnthropicAPI(tmp_path / "api-script.json", tmp_path / "api-log.jsonl") as api:
        yield api


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """A throwaway HOME in which Claude Code needs no login and asks nothing."""
    home = tmp_path / "home"
    write_home(home)
    return home


@pytest.fixture
def claude(claude_code_binary: Path, claude_home: Path, fake_api: FakeAnthropicAPI) -> ClaudeRunner:
    """Runs ``claude -p`` in a given cwd, in ``claude_home``, against ``fake_api``."""
    return ClaudeRunner(claude_code_binary, claude_home, fake_api.url)
