"""A background session (``claude --bg``) of the newest build, as Clare shows it.

Claude Code starts it through a daemon of its own, which outlives the command
and keeps spare terminal hosts ready: the test stops the session, then the
daemon, then any process still holding the daemon's socket folder, so nothing
it started is left running.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import git_project, wait_for
from .claude import write_home

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from .clare_stack import ClareStack
    from .claude import ClaudeRunner


class Background:
    """``claude`` subcommands in one cwd, and the cleanup of the daemon they start."""

    def __init__(self, claude: ClaudeRunner, cwd: Path, env: dict[str, str]) -> None:
        self.claude, self.cwd, self.env = claude, cwd, claude.environment(env)
        self.sock_dir = ""

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.claude.binary), *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"claude {' '.join(args)}: {done.stderr}\n{done.stdout}")
        return done

    def note_daemon(self) -> None:
        """Learn the daemon's socket folder while it runs (it idles out on its own later)."""
        status = self.run("daemon", "status", check=False).stdout
        found = re.search(r"sock dir:\s*(\S+)", status)
        if found is not None:
            self.sock_dir = found.group(1)

    def stop_daemon(self) -> None:
        self.run("daemon", "stop", "--any", check=False)
        if not self.sock_dir:
            return
        # Spare terminal hosts the daemon kept ready outlive it; they name its folder.
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            if self.sock_dir + "/" in cmdline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry), signal.SIGTERM)


@pytest.fixture
def background(claude: ClaudeRunner, stack: ClareStack, tmp_path: Path) -> Iterator[Background]:
    repo = git_project(tmp_path / "work" / "alpha", "feature/bg")
    runner = Background(claude, repo, {"CLARE_HOME": str(stack.home)})
    try:
        yield runner
    finally:
        runner.stop_daemon()


@pytest.mark.e2e
@pytest.mark.parametrize("claude_code_version", ["newest"], indirect=True)
def test_a_background_session_shows_as_such_with_its_attach_id(
    claude: ClaudeRunner, stack: ClareStack, background: Background
) -> None:
    write_home(claude.home, [background.cwd])
    stack.run("project", "add", "alpha", "--path", str(background.cwd))
    stack.run("--home", str(stack.home), "hooks", "install",
              "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    started = background.run("--bg", "-n", "bg-task", "background prompt").stdout
    background.note_daemon()
    job = re.search(r"backgrounded\s*\S\s*([0-9a-f]{6,})", started)
    assert job is not None, started
    job_id = job.group(1)
    (listed,) = json.loads(background.run("agents", "--json").stdout)
    assert listed["id"] == job_id

    def shown() -> dict[str, Any] | None:
        sessions = stack.json("session", "list")
        return next((s for s in sessions if s["job_id"] == job_id), None)

    session = wait_for("the background session", shown)
    assert (session["id"], session["kind"], session["name"]) == (
        listed["sessionId"], "bg", "bg-task")  # fmt: skip
    assert session["branch"] == "feature/bg"
    assert session["project"] == "alpha"
    shown_text = stack.run("session", "show", session["id"]).stdout
    assert f"claude attach {job_id}" in shown_text

    background.run("stop", job_id)

    def ended() -> bool:
        return bool(stack.json("session", "show", session["id"])["status"] == "ended")

    wait_for("the background session's end", ended)
