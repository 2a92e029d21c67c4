"""Doctor checks of Claude Code on this host: the program, and Clare's hooks in its settings.

Claude Code's folder is ``sessions.claude_config_dir`` of clare.toml when set,
else ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``: the same one the poller reads.
Its ``settings.json`` holds ``{"hooks": {EVENT: [{"hooks": [{"type": "command",
"command": ...}]}]}}``; Clare's hooks are the commands that run ``clare hook``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.ops.checks import Check, failure, ok, warning
from clare.sessions.claude_home import claude_dir

# The hook events `clare hooks install` sets up: each must run `clare hook`.
from clare.sessions.hook_events import HOOK_EVENTS, PERMISSION_EVENT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from clare.runtime.config import Config

HOOK_COMMAND = "clare hook"


def claude_folder(config: Config | None, env: Mapping[str, str] | None = None) -> Path:
    if config is not None and config.claude_config_dir:
        return Path(config.claude_config_dir).expanduser()
    return claude_dir(env)


def check_claude_found(config: Config | None, env: Mapping[str, str] | None = None) -> Check:
    path_var = None if env is None else env.get("PATH", "")
    found = shutil.which("claude", path=path_var)
    if config is not None and config.rclaude_command:
        program = config.rclaude_command.split()[0]
        if shutil.which(program, path=path_var) is None:
            return failure(
                "claude",
                f"rclaude_command {program!r} of clare.toml is not found",
                "install it, or clear sessions.rclaude_command in clare.toml",
            )
    if found is None:
        return warning(
            "claude",
            "Claude Code (`claude`) is not on PATH: no sessions to follow on this host",
            "install it: `npm install -g @anthropic-ai/claude-code`",
        )
    return ok("claude", f"Claude Code at {found}")


def clare_hook_events(settings: Any) -> set[str]:
    """The hook events whose commands run ``clare hook``. Pure; tolerates any shape."""
    hooks = settings.get("hooks") if isinstance(settings, dict) else None
    if not isinstance(hooks, dict):
        return set()
    found = set()
    for event, matchers in hooks.items():
        for matcher in matchers if isinstance(matchers, list) else []:
            entries = matcher.get("hooks") if isinstance(matcher, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                command = entry.get("command") if isinstance(entry, dict) else None
                if isinstance(command, str) and HOOK_COMMAND in command:
                    found.add(str(event))
    return found


#: What Claude Code gives a command hook that names no ``timeout`` of its own, in seconds.
CLAUDE_DEFAULT_HOOK_TIMEOUT_S = 60


def permission_timeout_s(settings: Any) -> int | None:
    """The ``timeout`` of Clare's PermissionRequest hook in ``settings`` (None: not there)."""
    hooks = settings.get("hooks") if isinstance(settings, dict) else None
    groups = hooks.get(PERMISSION_EVENT) if isinstance(hooks, dict) else None
    for group in groups if isinstance(groups, list) else []:
        entries = group.get("hooks") if isinstance(group, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            command = entry.get("command") if isinstance(entry, dict) else None
            if isinstance(command, str) and HOOK_COMMAND in command:
                timeout = entry.get("timeout")
                if isinstance(timeout, int | float) and not isinstance(timeout, bool):
                    return int(timeout)
                return CLAUDE_DEFAULT_HOOK_TIMEOUT_S
    return None


def check_hooks(
    config: Config | None,
    env: Mapping[str, str] | None = None,
    also: Iterable[Path] = (),
) -> Check:
    """Clare's hooks in Claude Code's settings.json, or in any file ``also`` names
    (where `clare hooks install --settings` put them). Without Claude Code on this
    host (a sync-only server), missing hooks are no failure: nothing would run them."""
    folder = claude_folder(config, env)
    settings_path = folder / "settings.json"
    default = claude_dir({}) / "settings.json"
    install = (
        "`clare hooks install`"
        if settings_path == default
        else f"`clare hooks install --settings {settings_path}`"
    )
    files = list(dict.fromkeys([settings_path, *also]))
    present: set[str] = set()
    found_in: list[Path] = []
    unreadable: list[str] = []
    short: list[str] = []  # PermissionRequest hooks Claude Code would end before they give up
    for path in files:
        try:
            settings = json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            unreadable.append(f"cannot read {path}: {exc}")
            continue
        events = clare_hook_events(settings)
        timeout = permission_timeout_s(settings)
        if timeout is not None and config is not None and timeout <= config.decision_wait_s:
            short.append(f"{path} ends it after {timeout} s")
        if events:
            found_in.append(path)
            present |= events
    where = ", ".join(str(p) for p in found_in) or str(settings_path)
    if not present and not _claude_here(config, env, folder):
        return ok("hooks", "none needed: Claude Code is not on this host")
    if unreadable and not present:
        return failure("hooks", unreadable[0], f"repair the file by hand, then {install}")
    missing = [e for e in HOOK_EVENTS if e not in present]
    if len(missing) == len(HOOK_EVENTS):
        if not settings_path.exists() and len(files) == 1:
            return failure("hooks", f"no {settings_path}: Clare's hooks are not installed", install)
        return failure("hooks", f"no `{HOOK_COMMAND}` hook in {where}", install)
    if missing:
        return warning(
            "hooks", f"no `{HOOK_COMMAND}` hook for {', '.join(missing)} in {where}", install
        )
    if short and config is not None:
        return warning(
            "hooks",
            f"the PermissionRequest hook waits up to decision_wait_s = {config.decision_wait_s} s,"
            f" but {'; '.join(short)}",
            install,
        )
    return ok("hooks", f"`{HOOK_COMMAND}` runs on {', '.join(HOOK_EVENTS)} ({where})")


def _claude_here(config: Config | None, env: Mapping[str, str] | None, folder: Path) -> bool:
    """Whether Claude Code is used on this host: on PATH, configured, or its folder exists."""
    if config is not None and config.rclaude_command:
        return True  # a configured wrapper means sessions are expected here
    path_var = None if env is None else env.get("PATH", "")
    return shutil.which("claude", path=path_var) is not None or folder.is_dir()
