"""A real Claude Code session claims its task, commits on a branch, finishes, and is reviewed.

The scripted agent runs ``clare pull --claim``, makes a branch with one commit
and runs ``clare done`` in its folder. The project asks for review, so the task
waits in review with the work recorded from git on the session's host, and a
synced peer shows the same record. The reviewer on the peer requests changes:
the task goes back to in progress, and the text reaches the session's next
turn (a resumed session) through its hook, once.
"""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import NODES, git_project, open_stack, pair, wait_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from .clare_stack import ClareStack
    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI

GIT = "git -c user.email=agent@example.com -c user.name=agent"


@pytest.fixture
def peers(claude: ClaudeRunner, tmp_path: Path) -> Iterator[tuple[ClareStack, ClareStack]]:
    """The session's host (watching Claude Code's folder) and a peer, syncing."""
    nodes = NODES + ",gossip"
    host = open_stack(claude.claude_dir, name="agent-host", nodes=nodes)
    peer = None
    try:
        peer = open_stack(tmp_path / "no-claude", name="review-host", nodes=nodes)
        pair(host, peer)
        yield host, peer
    finally:
        for stack in (host, peer):
            if stack is not None:
                stack.stop()
                shutil.rmtree(stack.home, ignore_errors=True)


def tool_outputs(requests: list[dict[str, Any]]) -> list[str]:
    outputs = []
    for request in requests:
        content = request["messages"][-1]["content"]
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                found = block["content"]
                text = found if isinstance(found, str) else "".join(c["text"] for c in found)
                outputs.append(text)
    return outputs


@pytest.mark.e2e
def test_an_agent_finishes_its_work_and_a_reviewer_sends_it_back(
    claude: ClaudeRunner,
    fake_api: FakeAnthropicAPI,
    peers: tuple[ClareStack, ClareStack],
    tmp_path: Path,
) -> None:
    host, peer = peers
    repo = git_project(tmp_path / "work" / "alpha", "main")
    host.run("project", "add", "alpha", "--path", str(repo))
    host.run("project", "update", "alpha", "--review")
    task = host.run("task", "add", "Build the widget", "-p", "alpha").stdout.strip()
    host.run("--home", str(host.home), "hooks", "install",
             "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    fake_api.set_script(
        {"bash": "clare pull --claim --json"},
        {"bash": f"git checkout -q -b feature/widget && echo blue > widget.txt && "
                 f"git add widget.txt && {GIT} commit -q -m 'Add the widget' && echo committed"},
        {"bash": "clare done --note 'widget built' --json"},
        {"text": "Finished."},
    )  # fmt: skip
    run = claude.run("pick up your work", repo, env={"CLARE_HOME": str(host.home)})
    assert run.result["is_error"] is False, run.result
    session_id = run.result["session_id"]
    pulled, committed, done = tool_outputs(fake_api.requests())[:3]
    assert json.loads(pulled)["claimed"] == task, pulled
    assert "committed" in committed
    finished = json.loads(done)
    assert finished["state"] == "review", done

    # On the session's host, and on the peer once synced: the branch and the file.
    def work_on(stack: ClareStack) -> dict[str, Any] | None:
        shown = stack.json("task", "show", task)
        return shown if shown.get("work") else None

    for stack in (host, peer):
        shown = wait_for(f"the work record on {stack.name}", lambda s=stack: work_on(s))
        work = shown["work"]
        assert shown["state"] == "review"
        assert work["session"] == session_id
        assert work["branch"] == "feature/widget"
        assert work["base"] == "main"
        assert [c["subject"] for c in work["commits"]] == ["Add the widget"]
        assert [(f["path"], f["added"], f["deleted"]) for f in work["files"]] == [
            ("widget.txt", 1, 0)
        ]
        assert work["host_name"] == "agent-host"
    text_shown = peer.run("task", "show", task).stdout
    assert "feature/widget" in text_shown
    assert "widget.txt" in text_shown

    # The task cost what the session spent between its claim and its `clare done`,
    # both of which read the session's transcript: the two API messages after the
    # claim's (the git call and the done call) of 12 in, 7 out each (the fake API's).
    by_task = {r["key"]: r for r in host.json("cost", "--by", "task")["rows"]}
    tokens = by_task[task]["tokens"]
    assert (tokens["input"], tokens["output"]) == (24, 14), by_task

    # The reviewer, on the peer, sends it back; the session's host learns it by sync.
    sent = peer.json("task", "review", task, "--request-changes", "Make it green")
    assert (sent["state"], sent["session"]) == ("in_progress", session_id)
    wait_for(
        "the task back in progress on the session's host",
        lambda: host.json("task", "show", task)["state"] == "in_progress",
    )
    wait_for(
        "the message on the session's host",
        lambda: any(m["id"] == sent["message"] for m in host.json("inbox")),
    )

    # The session's next turn carries the text, once.
    before = len(fake_api.requests())
    fake_api.set_script({"text": "On it."})
    again = claude.run(
        "carry on", repo, env={"CLARE_HOME": str(host.home)}, args=["--resume", session_id]
    )
    assert again.result["is_error"] is False, again.result
    bodies = [json.dumps(r) for r in fake_api.requests()[before:]]
    assert any("Make it green" in b for b in bodies)
    (message,) = [m for m in host.json("inbox", "--session", session_id)
                  if m["id"] == sent["message"]]  # fmt: skip
    assert [(d["session"], d["via"]) for d in message["deliveries"]] == [(session_id, "hook")]
