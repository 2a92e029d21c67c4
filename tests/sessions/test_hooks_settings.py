from __future__ import annotations

import copy
from typing import Any

from clare.sessions.hooks_settings import (
    HOOK_EVENTS,
    install,
    installed_events,
    is_clare_command,
    uninstall,
)

USERS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash"]},
    "hooks": {
        "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}],
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "audit"}]}],
    },
}


def test_install_adds_every_event_and_keeps_the_users_hooks() -> None:
    before = copy.deepcopy(USERS)
    after = install(USERS, "/usr/bin/clare")
    assert before == USERS  # not modified in place
    assert sorted(installed_events(after)) == sorted(HOOK_EVENTS)
    assert after["hooks"]["Stop"][0] == USERS["hooks"]["Stop"][0]
    assert after["hooks"]["PreToolUse"] == USERS["hooks"]["PreToolUse"]
    assert after["model"] == "opus"
    ours = after["hooks"]["UserPromptSubmit"][0]["hooks"][0]
    assert ours["command"] == "/usr/bin/clare hook UserPromptSubmit"
    assert ours["timeout"] > 0


def test_install_is_idempotent_and_replaces_a_changed_command() -> None:
    once = install(USERS, "/usr/bin/clare")
    assert install(once, "/usr/bin/clare") == once
    moved = install(once, "/opt/py/bin/python -m clare", home="/tmp/my home")
    (stop_ours,) = [g for g in moved["hooks"]["Stop"] if "clare" in str(g)]
    assert stop_ours["hooks"][0]["command"] == (
        "/opt/py/bin/python -m clare hook Stop --home '/tmp/my home'"
    )
    assert len(moved["hooks"]["Stop"]) == 2


def test_uninstall_removes_exactly_clares_hooks() -> None:
    assert uninstall(install(USERS, "/usr/bin/clare")) == USERS
    assert uninstall({"model": "x"}) == {"model": "x"}
    only_ours = install({}, "clare")
    assert uninstall(only_ours) == {}


def test_what_counts_as_clares_command() -> None:
    assert is_clare_command("clare hook Stop")
    assert is_clare_command("'/home/me/.local/bin/clare' hook Stop --home /x")
    assert is_clare_command("/usr/bin/python3 -m clare hook SessionEnd")
    assert not is_clare_command("clarence hook Stop")
    assert not is_clare_command("echo clare")
    assert not is_clare_command(None)


def test_the_permission_hook_may_run_past_the_decision_wait() -> None:
    from clare.sessions.hooks_settings import HOOK_TIMEOUT_S, permission_timeout_s

    settings = install({}, "clare", decision_wait_s=120)
    timeouts = {
        event: groups[0]["hooks"][0]["timeout"] for event, groups in settings["hooks"].items()
    }
    assert timeouts.pop("PermissionRequest") == permission_timeout_s(120) > 120
    assert set(timeouts.values()) == {HOOK_TIMEOUT_S}
