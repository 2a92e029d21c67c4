from __future__ import annotations

import json

from clare.sessions.permission_input import (
    MAX_INPUT,
    MAX_SUMMARY,
    answer,
    parse_ask,
    summary_of,
)


def test_the_summary_is_what_a_person_judges_by() -> None:
    assert summary_of("Bash", {"command": "rm -rf build", "description": "clean"}) == "rm -rf build"
    assert summary_of("Edit", {"file_path": "/src/a.py", "old_string": "x"}) == "/src/a.py"
    assert summary_of("WebFetch", {"url": "https://example.org", "prompt": "p"}) == (
        "https://example.org"
    )
    assert summary_of("mcp__db__query", {"sql": "drop table t"}) == '{"sql": "drop table t"}'
    assert summary_of("ExitPlanMode", {}) == "ExitPlanMode"
    assert len(summary_of("Bash", {"command": "x" * 10_000})) == MAX_SUMMARY


def test_an_ask_is_bounded_and_needs_a_tool() -> None:
    ask = parse_ask(
        {
            "tool_name": "Bash",
            "tool_input": {"command": "y" * 20_000},
            "permission_suggestions": [{"type": "addRules"}, {"type": "addRules"}, "z" * 900],
        }
    )
    assert ask is not None
    assert len(ask.tool_input) == MAX_INPUT
    assert ask.suggestions[0] == json.dumps({"type": "addRules"})
    assert len(ask.suggestions) == 2  # repeats dropped, each cut short
    assert len(ask.suggestions[1]) == 500
    assert parse_ask({"tool_input": {}}) is None


def test_a_denial_tells_the_model_who_and_why() -> None:
    allow = answer("allow")
    assert allow == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "allow"},
        }
    }
    deny = answer("deny", "use build/", "ann@laptop")["hookSpecificOutput"]["decision"]
    assert deny == {"behavior": "deny", "message": "Denied by ann@laptop through Clare: use build/"}
    assert answer("deny")["hookSpecificOutput"]["decision"]["message"] == "Denied through Clare."
