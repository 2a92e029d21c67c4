"""Fixtures that run a real Claude Code offline.

``claude`` is the one most tests want: a :class:`ClaudeRunner` with its own
HOME, talking to its own :class:`FakeAnthropicAPI` (``fake_api``), whose script
the test sets with ``fake_api.set_script({"bash": "..."})``::

    @pytest.mark.e2e
    def test_something(claude, fake_api, tmp_path):
        fake_api.set_script({"bash": "echo hi"})
        run = claude.run("go", cwd=tmp_path)
        assert run.result["is_error"] is False

A test runs on the pinned build unless it asks for others through the
``claude_code_version`` fixture::

    @pytest.mark.parametrize("claude_code_version", BUILDS, indirect=True)

``BUILDS`` are the pinned build, the newest on npm (resolved with ``npm view``
once per run; when npm cannot say, the pinned build stands in, and the run's
output says so) and the oldest Clare supports. Each is installed in a folder
of its own under ``.cache/claude-code/``.

A machine without Node.js or npm fails these tests with a message saying so:
they are never skipped silently.
"""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

import pytest

from .clare_stack import ClareStack, open_stack
from .claude import (
    BUILDS,
    CLAUDE_CODE_VERSION,
    OLDEST_VERSION,
    ClaudeCodeUnavailable,
    ClaudeRunner,
    install_claude_code,
    newest_version,
    write_home,
)
from .fake_api import FakeAnthropicAPI

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(scope="session")
def newest_claude_code() -> str:
    """The newest Claude Code on npm now; the pinned one (and a note) if npm cannot say."""
    version, how = newest_version()
    # Outside pytest's capture: the run's output says which build "newest" was.
    print(f"\ne2e: newest Claude Code: {version} ({how})", file=sys.__stderr__)
    return version


@pytest.fixture
def claude_code_version(request: pytest.FixtureRequest) -> str:
    """The version a test runs: the pinned one, or the build its parameter names."""
    build = getattr(request, "param", "pinned")
    if build == "newest":
        return str(request.getfixturevalue("newest_claude_code"))
    if build == "oldest":
        return OLDEST_VERSION
    if build != "pinned":
        raise ValueError(f"unknown Claude Code build {build!r}: one of {BUILDS}")
    return CLAUDE_CODE_VERSION


@pytest.fixture
def claude_code_binary(claude_code_version: str) -> Path:
    """The ``claude`` binary of that version, installed on first use."""
    try:
        return install_claude_code(claude_code_version)
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


@pytest.fixture
def stack(claude: ClaudeRunner) -> Iterator[ClareStack]:
    """A running Clare (writer, projector, poller) watching ``claude``'s folder."""
    running = open_stack(claude.claude_dir)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.home, ignore_errors=True)
