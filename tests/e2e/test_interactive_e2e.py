"""Interactive Claude Code in tmux, on each build: found before any prompt, its end noticed.

A session a person starts and has not typed into yet must show at once with its
branch (read from the git HEAD of its cwd: there is no transcript line yet).
2.0.77 writes no session file, so there the session is known through its
SessionStart hook alone. ``/exit`` must then be seen as the session's end.
A session shows waiting when, and only when, a person is needed: here, a
permission dialog.

Each test runs its own tmux server (``tmux -L``) and kills it afterwards,
Claude Code with it.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import git_project, wait_for
from .claude import BUILDS, write_home

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from .clare_stack import ClareStack
    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI


#: What Claude Code's input line starts with.
PROMPT_MARK = "\u276f"


class Tmux:
    """A tmux server of the test's own, started with Claude Code's clean environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"clare-e2e-{uuid.uuid4().hex[:8]}"
        self.env = env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )

    def start(self, name: str, cwd: Path, command: str) -> None:
        self.run("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(cwd), command)

    def type(self, target: str, text: str) -> None:
        self.run("send-keys", "-t", target, "-l", text)
        time.sleep(0.3)  # a pasted line and its Enter apart, as a person types them
        self.run("send-keys", "-t", target, "Enter")

    def submit(self, target: str, text: str) -> None:
        """Type a line once the input line shows, and see that it left the input line.

        A session is listed (by its SessionStart hook) before its screen takes
        input, and in 2.0.77 the first Enter after a slash command only picks it
        from the completion menu: so wait for the prompt, and press Enter again
        while the text still sits in the input line.
        """
        wait_for("the input line", lambda: PROMPT_MARK in self.screen(target))
        time.sleep(0.5)
        self.type(target, text)
        for _ in range(3):
            time.sleep(1)
            if text not in self.screen(target).rsplit(PROMPT_MARK, 1)[-1]:
                return
            self.run("send-keys", "-t", target, "Enter")

    def screen(self, target: str) -> str:
        """What the pane shows; "" once it is gone (its program exited)."""
        try:
            return self.run("capture-pane", "-p", "-t", target).stdout
        except subprocess.CalledProcessError:
            return ""

    def kill(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30, check=False
        )


@pytest.fixture
def tmux(claude: ClaudeRunner) -> Iterator[Tmux]:
    server = Tmux(claude.environment({"TERM": "xterm-256color"}))
    try:
        yield server
    finally:
        server.kill()


@pytest.mark.e2e
@pytest.mark.parametrize("claude_code_version", BUILDS, indirect=True)
def test_an_interactive_session_shows_before_any_prompt_and_its_end(
    claude: ClaudeRunner, stack: ClareStack, tmux: Tmux, tmp_path: Path
) -> None:
    repo = git_project(tmp_path / "work" / "alpha", "feature/idle")
    stack.run("project", "add", "alpha", "--path", str(repo))
    stack.run("--home", str(stack.home), "hooks", "install",
              "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    write_home(claude.home, [repo])
    tmux.start("agent", repo, f"CLARE_HOME={stack.home} {claude.binary}")

    def idle_session() -> dict[str, Any] | None:
        sessions = stack.json("session", "list")
        found = sessions[0] if sessions else {}
        return found if found.get("pid") and found.get("branch") else None

    try:
        session = wait_for("the new session with its branch", idle_session)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pane shows:\n{tmux.screen('agent')}") from None
    assert session["branch"] == "feature/idle"
    assert session["project"] == "alpha"
    assert session["first_prompt"] is None  # nobody typed yet
    assert session["tokens"] == 0
    # Nothing needs a person: a status of waiting here was a real start-up dialog.
    assert session["status"] in ("idle", "unknown"), tmux.screen("agent")

    tmux.submit("agent", "/exit")

    def ended() -> bool:
        return bool(stack.json("session", "show", session["id"])["status"] == "ended")

    try:
        wait_for("the session's end", ended)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pane shows:\n{tmux.screen('agent')}") from None


@pytest.mark.e2e
@pytest.mark.parametrize("claude_code_version", BUILDS, indirect=True)
def test_waiting_means_a_permission_dialog_is_open(
    claude: ClaudeRunner,
    fake_api: FakeAnthropicAPI,
    stack: ClareStack,
    tmux: Tmux,
    tmp_path: Path,
) -> None:
    repo = git_project(tmp_path / "work" / "alpha", "feature/ask")
    stack.run("--home", str(stack.home), "hooks", "install",
              "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    write_home(claude.home, [repo], allow_bash=False)
    fake_api.set_script({"bash": "touch needs-permission.txt"})
    tmux.start("agent", repo, f"CLARE_HOME={stack.home} {claude.binary}")

    def status() -> str:
        sessions = stack.json("session", "list")
        return str(sessions[0]["status"]) if sessions else ""

    wait_for("the new session", status)
    assert status() != "waiting", tmux.screen("agent")
    tmux.submit("agent", "make a file")

    def waiting() -> dict[str, Any] | None:
        sessions = stack.json("session", "list")
        return sessions[0] if sessions and sessions[0]["status"] == "waiting" else None

    try:
        session = wait_for("the permission dialog to show as waiting", waiting)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pane shows:\n{tmux.screen('agent')}") from None
    assert "permission" in (session["waiting_for"] or ""), session
    assert not (repo / "needs-permission.txt").exists()

    def answered() -> bool:
        if "Do you want to proceed?" in tmux.screen("agent"):
            # "1": Yes. A dialog takes no keys for a moment after it opens: press again.
            tmux.run("send-keys", "-t", "agent", "1")
        return (repo / "needs-permission.txt").exists() and status() != "waiting"

    try:
        wait_for("the answered dialog to end the wait", answered)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the pane shows:\n{tmux.screen('agent')}") from None
