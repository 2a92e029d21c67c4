"""A message to an idle interactive Claude Code reaches its model through the inbox socket.

The session runs in tmux (the harness needs a terminal for it), but the message
is sent with no ``tmux`` on PATH, so typing into the pane is impossible: the
only way in is the socket its session file names. Clare's hooks are installed,
so the turn the message starts runs the UserPromptSubmit hook before the
delivery is recorded; the model must still see the message once.
"""

from __future__ import annotations

import json
import shutil
import time
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import ClareStack, open_stack
from .interactive import open_interactive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI

TEXT = "Freeze merges until noon"


@pytest.fixture
def stack(claude: ClaudeRunner) -> Iterator[ClareStack]:
    running = open_stack(claude.claude_dir)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.home, ignore_errors=True)


def _wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (found := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return found


@pytest.mark.e2e
def test_a_message_reaches_an_idle_session_through_its_inbox_socket(
    claude: ClaudeRunner, fake_api: FakeAnthropicAPI, stack: ClareStack, tmp_path: Path
) -> None:
    repo = tmp_path / "alpha"
    repo.mkdir()
    stack.run("project", "add", "alpha", "--path", str(repo))
    stack.run("hooks", "install", "--settings", str(claude.claude_dir / "settings.json"))
    fake_api.set_script({"text": "noted"})
    with open_interactive(claude, repo, env={"CLARE_HOME": str(stack.home)}) as live:
        assert live.session_file["messagingSocketPath"]

        def seen_idle() -> bool:
            found = stack.json("session", "list")
            return any(s["id"] == live.session_id and s["status"] == "idle" for s in found)

        _wait_for("the poller to see the session idle", seen_idle)
        no_tmux = tmp_path / "empty-path"
        no_tmux.mkdir()
        sent = json.loads(
            stack.run(
                "broadcast", TEXT, "--to", f"session:{live.session_id}", "--json",
                env={"PATH": str(no_tmux)},
            ).stdout
        )  # fmt: skip
        assert sent["delivered_now"] == [
            {"session": live.session_id, "via": "inbox", "confirmed": True, "error": None}
        ]

        def main_loop_requests() -> list[str]:
            bodies = [json.dumps(r) for r in fake_api.requests() if r.get("tools")]
            return [b for b in bodies if TEXT in b]

        (request,) = _wait_for("the model to get the message", main_loop_requests)
        # Once: the hook of the turn the message started did not add it again.
        assert request.count(TEXT) == 1
        assert sent["message"] in request
    (message,) = stack.json("inbox", "--session", live.session_id)
    assert message["id"] == sent["message"]
    assert [(d["session"], d["via"]) for d in message["deliveries"]] == [(live.session_id, "inbox")]
