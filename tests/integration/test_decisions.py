"""Decisions across two real instances synced over loopback, with the real hook process.

Host B runs the PermissionRequest hook as Claude Code would (JSON on stdin, a
subprocess); host A answers. No Claude Code here: tests/e2e/test_decisions_e2e.py
runs a real one.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from clare.runtime import config as config_mod
from tests.reliability.harness import new_stack, peer, remove

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.stack import Stack

ASK = {
    "session_id": "sess-decide-1",
    "cwd": "/tmp",
    "hook_event_name": "PermissionRequest",
    "permission_mode": "default",
    "tool_name": "Bash",
    "tool_input": {"command": "touch /tmp/allowed.txt", "description": "make a file"},
    "permission_suggestions": [{"type": "addRules", "behavior": "allow"}],
}


@pytest.fixture
def hosts() -> Iterator[tuple[Stack, Stack]]:
    a, b = new_stack(), new_stack()
    try:
        for stack, name in ((a, "host-a"), (b, "host-b")):
            config = config_mod.load(stack.paths)
            config_mod.save(stack.paths, config.replace(name=name, decision_wait_s=20))
        peer(a, b)
        a.up()
        b.up()
        yield a, b
    finally:
        remove(a)
        remove(b)


def start_hook(stack: Stack, payload: dict[str, Any]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "clare", "hook", "PermissionRequest"],
        env=stack.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(payload))
    proc.stdin.close()
    proc.stdin = None  # closed, as Claude Code closes it: communicate() must not flush it
    return proc


def pending_on(stack: Stack, timeout_s: float = 20) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def listed() -> bool:
        found[:] = stack.json("decision", "list")
        return bool(found)

    stack.wait_until(listed, timeout_s, "a pending decision")
    return found[0]


def hook_output(proc: subprocess.Popen[str]) -> tuple[int, Any]:
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, json.loads(out) if out.strip() else None


def test_asked_on_b_answered_on_a(hosts: tuple[Stack, Stack]) -> None:
    a, b = hosts
    hook = start_hook(b, ASK)
    try:
        decision = pending_on(a)
        assert decision["host"] == "host-b"
        assert decision["tool"] == "Bash"
        assert decision["summary"] == "touch /tmp/allowed.txt"
        a.clare("decision", "allow", decision["id"])
        code, printed = hook_output(hook)
    finally:
        hook.kill()
    assert code == 0
    assert printed == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    shown = b.json("decision", "show", decision["id"])
    assert shown["state"] == "allowed"
    assert shown["answer"]["host"] == "host-a"

    # The next one is denied, and the reason goes to the model.
    hook = start_hook(b, {**ASK, "tool_input": {"command": "rm -rf /tmp/x"}})
    try:
        decision = pending_on(a)
        a.clare("decision", "deny", decision["id"][:7], "--reason", "use the trash instead")
        code, printed = hook_output(hook)
    finally:
        hook.kill()
    answer = printed["hookSpecificOutput"]["decision"]
    assert answer["behavior"] == "deny"
    assert "use the trash instead" in answer["message"]


def test_the_session_going_on_settles_its_ask_everywhere(hosts: tuple[Stack, Stack]) -> None:
    a, b = hosts
    hook = start_hook(b, ASK)
    try:
        decision = pending_on(a)
        # Answered at B's terminal: the session goes on, and its next hook says so.
        stop = subprocess.run(
            [sys.executable, "-m", "clare", "hook", "Stop"], env=b.env, timeout=30,
            input=json.dumps({"session_id": ASK["session_id"], "hook_event_name": "Stop"}),
            text=True, capture_output=True, check=True,
        )  # fmt: skip
        assert stop.stdout == ""
        code, printed = hook_output(hook)  # the waiting hook ends, printing nothing
    finally:
        hook.kill()
    assert (code, printed) == (0, None)
    a.wait_until(lambda: a.json("decision", "list") == [], 20, "the ask settled on A")
    assert a.json("decision", "show", decision["id"])["state"] == "answered at the terminal"
    # Too late now: A cannot answer it any more.
    assert "no longer pending" in a.clare("decision", "allow", decision["id"], check=False).stderr


def test_a_hook_ended_by_claude_code_settles_its_ask(hosts: tuple[Stack, Stack]) -> None:
    a, b = hosts
    hook = start_hook(b, ASK)
    try:
        decision = pending_on(a)
        hook.send_signal(signal.SIGTERM)
        code, printed = hook_output(hook)
    finally:
        hook.kill()
    assert (code, printed) == (0, None)
    a.wait_until(lambda: a.json("decision", "list") == [], 20, "the ask settled on A")
    assert a.json("decision", "show", decision["id"])["state"] == "answered at the terminal"


def test_with_no_answer_the_hook_prints_nothing_and_the_ask_expires(
    hosts: tuple[Stack, Stack],
) -> None:
    a, b = hosts
    config = config_mod.load(b.paths)
    config_mod.save(b.paths, config.replace(decision_wait_s=2))
    hook = start_hook(b, ASK)
    try:
        code, printed = hook_output(hook)
    finally:
        hook.kill()
    assert (code, printed) == (0, None)
    (shown,) = b.json("decision", "list", "--all")
    assert shown["state"] == "expired"
    a.wait_until(
        lambda: [d["state"] for d in a.json("decision", "list", "--all")] == ["expired"],
        20,
        "the expiry on A",
    )


def test_a_killed_hooks_ask_is_settled_by_the_sessions_end(hosts: tuple[Stack, Stack]) -> None:
    a, b = hosts
    hook = start_hook(b, ASK)
    try:
        decision = pending_on(a)
        hook.kill()  # no chance to record anything: its marker file stays behind
        hook.communicate(timeout=10)
    finally:
        hook.kill()
    subprocess.run(
        [sys.executable, "-m", "clare", "hook", "SessionEnd"], env=b.env, timeout=30,
        input=json.dumps({"session_id": ASK["session_id"], "hook_event_name": "SessionEnd"}),
        text=True, capture_output=True, check=True,
    )  # fmt: skip
    a.wait_until(lambda: a.json("decision", "list") == [], 20, "the ask settled on A")
    assert a.json("decision", "show", decision["id"])["state"] == "session ended"
