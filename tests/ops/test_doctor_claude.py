from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from clare.ops.checks import Status
from clare.ops.doctor_claude import (
    HOOK_EVENTS,
    check_claude_found,
    check_hooks,
    clare_hook_events,
    claude_folder,
)
from clare.runtime.config import Config

if TYPE_CHECKING:
    from pathlib import Path

CONFIG = Config(machine_id="6f7c904f-df3a-4c9c-a97f-75a53e07e8b3", name="laptop")


def _settings(
    *events: str, command: str = "clare hook {event}", permission_timeout_s: int = 330
) -> dict[str, Any]:
    def entry(event: str) -> dict[str, Any]:
        made: dict[str, Any] = {"type": "command", "command": command.format(event=event)}
        if event == "PermissionRequest":
            made["timeout"] = permission_timeout_s
        return made

    return {"theme": "dark", "hooks": {event: [{"hooks": [entry(event)]}] for event in events}}


def _write(folder: Path, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "settings.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_all_hooks_installed_is_ok(tmp_path: Path) -> None:
    _write(tmp_path, _settings(*HOOK_EVENTS, command="/opt/bin/clare hook {event} --quiet"))
    check = check_hooks(CONFIG, {"CLAUDE_CONFIG_DIR": str(tmp_path)})
    assert check.status is Status.OK


def test_a_missing_hook_is_found_and_install_is_the_fix(tmp_path: Path) -> None:
    path = _write(tmp_path, _settings("SessionStart", "UserPromptSubmit"))
    check = check_hooks(CONFIG, {"CLAUDE_CONFIG_DIR": str(tmp_path)})
    assert check.status is Status.WARNING
    assert "Stop, SessionEnd, Notification" in check.summary
    assert check.fix == f"`clare hooks install --settings {path}`"


def test_no_clare_hook_at_all_is_a_failure(tmp_path: Path) -> None:
    _write(tmp_path, _settings(*HOOK_EVENTS, command="other-tool {event}"))
    check = check_hooks(CONFIG, {"CLAUDE_CONFIG_DIR": str(tmp_path)})
    assert check.status is Status.FAILURE
    assert "clare hooks install" in check.fix


def test_no_settings_file_or_a_broken_one(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path)}
    assert check_hooks(CONFIG, env).status is Status.FAILURE
    _write(tmp_path, "{not json")
    check = check_hooks(CONFIG, env)
    assert check.status is Status.FAILURE
    assert "repair the file by hand" in check.fix


def test_the_config_names_claudes_folder_before_the_environment(tmp_path: Path) -> None:
    configured = Config(CONFIG.machine_id, "laptop", claude_config_dir=str(tmp_path / "a"))
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "b")}
    assert claude_folder(configured, env) == tmp_path / "a"
    assert claude_folder(CONFIG, env) == tmp_path / "b"
    assert claude_folder(None, {"HOME": "/ignored"}).name == ".claude"


def test_odd_shapes_of_settings_are_tolerated() -> None:
    assert clare_hook_events([]) == set()
    assert clare_hook_events({"hooks": []}) == set()
    assert clare_hook_events({"hooks": {"Stop": "clare hook Stop"}}) == set()
    assert clare_hook_events({"hooks": {"Stop": [{"hooks": [{"command": 3}, "x"]}, 7]}}) == set()
    assert clare_hook_events(_settings("Stop")) == {"Stop"}


def test_claude_code_is_looked_for_on_path(tmp_path: Path) -> None:
    assert check_claude_found(CONFIG, {"PATH": str(tmp_path)}).status is Status.WARNING
    claude = tmp_path / "claude"
    claude.write_text("#!/bin/sh\n")
    os.chmod(claude, 0o755)
    check = check_claude_found(CONFIG, {"PATH": str(tmp_path)})
    assert check.status is Status.OK
    assert str(claude) in check.summary


def test_a_configured_rclaude_that_is_missing_is_a_failure(tmp_path: Path) -> None:
    configured = Config(CONFIG.machine_id, "laptop", rclaude_command="rclaude --json")
    check = check_claude_found(configured, {"PATH": str(tmp_path)})
    assert check.status is Status.FAILURE
    assert "rclaude" in check.summary


def test_without_claude_code_missing_hooks_are_no_failure(tmp_path: Path) -> None:
    # A sync-only server: no `claude` on PATH and no Claude Code folder.
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "none"), "PATH": str(tmp_path)}
    check = check_hooks(CONFIG, env)
    assert check.status is Status.OK
    assert "Claude Code is not on this host" in check.summary


def test_hooks_installed_in_another_settings_file_are_found(tmp_path: Path) -> None:
    _write(tmp_path / "claude", {"theme": "dark"})
    elsewhere = _write(tmp_path / "project" / ".claude", _settings(*HOOK_EVENTS))
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    assert check_hooks(CONFIG, env).status is Status.FAILURE
    check = check_hooks(CONFIG, env, [elsewhere])
    assert check.status is Status.OK
    assert str(elsewhere) in check.summary


def test_a_permission_hook_that_claude_code_would_end_too_soon_is_found(tmp_path: Path) -> None:
    path = _write(tmp_path, _settings(*HOOK_EVENTS, permission_timeout_s=60))
    check = check_hooks(CONFIG, {"CLAUDE_CONFIG_DIR": str(tmp_path)})
    assert check.status is Status.WARNING
    assert f"decision_wait_s = 300 s, but {path} ends it after 60 s" in check.summary
    assert "clare hooks install" in check.fix
