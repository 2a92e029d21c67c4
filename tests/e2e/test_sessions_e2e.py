"""A real Claude Code session under a real Clare stack: discovered, given work, told things.

The scripted agent's first Bash call waits for a flag file, so the test can
look at the running session (found by the poller with the right cwd, project,
branch and status) and assign it a task before the agent's second Bash call
runs ``clare pull --json``. After it exits the session must be seen ended. A
broadcast sent then reaches the model with the next turn (a resumed session),
through the UserPromptSubmit hook, and the delivery is recorded.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import git_project, wait_for
from .claude import BUILDS

if TYPE_CHECKING:
    from pathlib import Path

    from .clare_stack import ClareStack
    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI


def _tool_outputs(requests: list[dict[str, Any]]) -> list[str]:
    """The tool results the requests carry back, in order.

    Requests are not only the session's turns: older builds also send warm-up
    requests of their own, so none is found by its position.
    """
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
@pytest.mark.parametrize("claude_code_version", BUILDS, indirect=True)
def test_a_real_session_is_seen_given_work_and_told_things(
    claude: ClaudeRunner,
    fake_api: FakeAnthropicAPI,
    stack: ClareStack,
    tmp_path: Path,
    claude_code_version: str,
) -> None:
    repo = git_project(tmp_path / "work" / "alpha", "feature/e2e")
    stack.run("project", "add", "alpha", "--path", str(repo))
    task = stack.run(
        "task", "add", "Build the widget", "-p", "alpha", "--body", "Make it blue."
    ).stdout.strip()
    stack.run("--home", str(stack.home), "hooks", "install",
              "--settings", str(claude.claude_dir / "settings.json"))  # fmt: skip
    flag = tmp_path / "go"
    fake_api.set_script(
        {"bash": f"for i in $(seq 600); do [ -f {flag} ] && break; sleep 0.1; done; echo waited"},
        {"bash": "clare pull --json"},
    )
    env = {"CLARE_HOME": str(stack.home)}

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(claude.run, "pick up your work", repo, env=env)

        def live_session() -> dict[str, Any] | None:
            # The pid comes from the session file (or, in builds without one, from the
            # hook), the branch from the git HEAD of the cwd, and the version, in
            # builds without a session file, from the transcript's first line. The
            # session may be seen idle a moment before its prompt: wait for the turn.
            sessions = stack.json("session", "list")
            found = sessions[0] if sessions else {}
            wanted = ("pid", "branch", "version", "status")
            return (
                found if all(found.get(k) for k in wanted) and found["status"] == "busy" else None
            )

        try:
            session = wait_for("the poller to find the session", live_session)
            assert session["cwd"] == str(repo)
            assert session["project"] == "alpha"
            assert session["branch"] == "feature/e2e"
            assert session["host"] == "e2e-host"
            assert session["version"] == claude_code_version
            session_id = session["id"]
            stack.run("assign", task, session_id[:8])
        finally:
            flag.touch()  # the agent goes on (and never waits a minute for nothing)
        run = first.result(timeout=120)
    assert run.result["is_error"] is False, run.result
    assert run.result["session_id"] == session_id

    # The agent's `clare pull --json` found its session (from Claude Code's
    # environment, or through the process its hook recorded) and got the assigned
    # task with its body.
    outputs = _tool_outputs(fake_api.requests())
    assert len(outputs) == 2, outputs
    pulled = json.loads(outputs[1])
    assert pulled["session"] == session_id
    assert [t["id"] for t in pulled["tasks"]] == [task]
    assert pulled["tasks"][0]["body"] == "Make it blue."
    assert pulled["project"] == "alpha"

    # The session's end is noticed (SessionEnd hook, and the session file going away).
    def ended() -> bool:
        return bool(stack.json("session", "show", session_id)["status"] == "ended")

    wait_for("the session to be seen ended", ended)

    # The SessionEnd hook may record the end first; the poller's last read of the
    # transcript follows with the exact count: three API messages (two Bash calls
    # and the last word) of 12 in, 7 out each (the fake API's usage), each counted
    # once however many lines it spans.
    last: list[dict[str, Any]] = []

    def counted() -> bool:
        last[:] = [stack.json("session", "show", session_id)]
        return (last[0]["tokens_in"], last[0]["tokens_out"]) == (36, 21)

    try:
        wait_for("the ended session's exact tokens", counted, timeout_s=15)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {last}") from None
    shown = last[0]
    assert shown["status"] == "ended"
    assert shown["first_prompt"] == "pick up your work"

    # Claims are leases: the task the ended session held is ready again, with why.
    def released() -> dict[str, Any] | None:
        found: dict[str, Any] = stack.json("task", "show", task)
        return found if not found["assignee"] and found["ready"] else None

    given_back = wait_for("the ended session's task to be released", released)
    notes = [e["data"]["text"] for e in given_back["history"] if e["kind"] == "TaskNoted"]
    assert notes == [f"released: session {session_id} ended"]

    # A broadcast reaches the model with the session's next turn, through the hook.
    sent = stack.json("broadcast", "Freeze merges until noon", "--to", "project:alpha")
    before = len(fake_api.requests())
    fake_api.set_script({"text": "noted"})
    again = claude.run("carry on", repo, env=env, args=["--resume", session_id])
    assert again.result["is_error"] is False, again.result
    bodies = [json.dumps(r) for r in fake_api.requests()[before:]]
    assert any("Freeze merges until noon" in b for b in bodies)
    (message,) = stack.json("inbox", "--session", session_id)
    assert message["id"] == sent["message"]
    assert [(d["session"], d["via"]) for d in message["deliveries"]] == [(session_id, "hook")]
