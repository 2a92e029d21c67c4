"""A real Claude Code on host B asks; host A answers (issue: decisions from any host).

Two Clare instances on loopback, synced. Claude Code (the pinned build) runs
interactively in tmux on B, with Bash not allowed, so every command opens the
permission dialog and, with it, Clare's PermissionRequest hook. Then:

1. A lists the decision with its command and host; allowing it on A runs the
   command on B;
2. the next one, denied on A, does not run, and the model hears the reason
   (the fake API sees it in the tool result it receives);
3. a third, answered at B's terminal, stops being pending on A.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from clare.runtime import config as config_mod
from tests.reliability.harness import new_stack, peer, remove

from .clare_stack import git_project, wait_for
from .claude import write_home
from .interactive import prepare_interactive_home
from .test_interactive_e2e import Tmux

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.integration.stack import Stack

    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI


@pytest.fixture
def hosts(claude: ClaudeRunner) -> Iterator[tuple[Stack, Stack]]:
    a, b = new_stack(), new_stack()
    try:
        for stack, name in ((a, "host-a"), (b, "host-b")):
            config = config_mod.load(stack.paths)
            config_mod.save(stack.paths, config.replace(name=name))
        # B's poller follows the Claude Code that runs there.
        config = config_mod.load(b.paths)
        config_mod.save(b.paths, config.replace(claude_config_dir=str(claude.claude_dir)))
        b.env["CLAUDE_CONFIG_DIR"] = str(claude.claude_dir)
        peer(a, b)
        a.up()
        b.up()
        yield a, b
    finally:
        remove(a)
        remove(b)


@pytest.fixture
def tmux(claude: ClaudeRunner) -> Iterator[Tmux]:
    server = Tmux(claude.environment({"TERM": "xterm-256color"}))
    try:
        yield server
    finally:
        server.kill()


def _pending(a: Stack, tmux: Tmux) -> dict[str, Any]:
    def listed() -> dict[str, Any] | None:
        found = a.json("decision", "list")
        return found[0] if found else None

    try:
        return dict(wait_for("the ask to be listed on A", listed))
    except AssertionError as exc:
        raise AssertionError(f"{exc}; B's pane shows:\n{tmux.screen('agent')}") from None


def _tool_results(fake_api: FakeAnthropicAPI) -> str:
    """Every tool result the model was sent, as one text."""
    texts = []
    for body in fake_api.requests():
        for message in body.get("messages") or []:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, list):
                texts += [json.dumps(c) for c in content if c.get("type") == "tool_result"]
    return "\n".join(texts)


@pytest.mark.e2e
def test_a_prompt_on_b_is_answered_from_a(
    claude: ClaudeRunner,
    fake_api: FakeAnthropicAPI,
    hosts: tuple[Stack, Stack],
    tmux: Tmux,
    tmp_path: Path,
) -> None:
    a, b = hosts
    repo = git_project(tmp_path / "work" / "alpha", "main")
    b.clare("--home", str(b.home), "hooks", "install",
            "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    prepare_interactive_home(claude.home, repo)
    write_home(claude.home, [repo], allow_bash=False)
    tmux.start("agent", repo, f"CLARE_HOME={b.home} {claude.binary}")

    # 1. Allowed on A: the command runs on B.
    fake_api.set_script({"bash": "touch allowed.txt"})
    tmux.submit("agent", "make a file")
    decision = _pending(a, tmux)
    assert decision["host"] == "host-b"
    assert decision["tool"] == "Bash"
    assert decision["summary"] == "touch allowed.txt"
    assert not (repo / "allowed.txt").exists()
    a.clare("decision", "allow", decision["id"])
    wait_for("the allowed command to run on B", lambda: (repo / "allowed.txt").exists())
    assert b.json("decision", "show", decision["id"])["state"] == "allowed"

    # 2. Denied on A: it does not run, and the model is told why.
    wait_for("B's session to be idle again", lambda: b.json("decision", "list") == [])
    fake_api.set_script({"bash": "touch denied.txt"})
    tmux.submit("agent", "make another file")
    decision = _pending(a, tmux)
    assert decision["summary"] == "touch denied.txt"
    a.clare("decision", "deny", decision["id"], "--reason", "write it under build/ instead")
    wait_for(
        "the reason to reach the model",
        lambda: "write it under build/ instead" in _tool_results(fake_api),
    )
    assert not (repo / "denied.txt").exists()

    # 3. Answered at B's terminal: no longer pending on A.
    fake_api.set_script({"bash": "touch at-terminal.txt"})
    tmux.submit("agent", "one more file")
    decision = _pending(a, tmux)
    assert decision["summary"] == "touch at-terminal.txt"

    def answered_at_the_terminal() -> bool:
        if "Do you want to proceed?" in tmux.screen("agent"):
            tmux.run("send-keys", "-t", "agent", "1")  # "1": Yes
        return (repo / "at-terminal.txt").exists()

    wait_for("the terminal's answer to run the command", answered_at_the_terminal)
    wait_for("the ask to stop being pending on A", lambda: a.json("decision", "list") == [])
    shown = a.json("decision", "show", decision["id"])
    assert shown["state"] == "answered at the terminal"
