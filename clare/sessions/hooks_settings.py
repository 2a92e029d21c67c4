"""Clare's hooks in Claude Code's ``settings.json``: merged in, and taken out, exactly.

Claude Code keeps hooks as ``{"hooks": {EVENT: [{"matcher": ..., "hooks":
[{"type": "command", "command": ...}]}]}}``. Clare adds one matcher group per
event holding one command, ``<clare> hook EVENT``. Its own entries are known by
that command's shape (a program named ``clare`` or ``-m clare``, then ``hook
EVENT``), so installing twice changes nothing, a changed command (another
``--home``) replaces the old one, and uninstalling leaves every other hook,
and every other setting, as it was. Pure: the CLI reads and writes the file.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from clare.sessions.hook_events import HOOK_EVENTS, PERMISSION_EVENT

__all__ = [
    "HOOK_EVENTS",
    "hook_command",
    "install",
    "installed_events",
    "is_clare_command",
    "permission_timeout_s",
    "uninstall",
]

#: Seconds Claude Code waits for the hook before giving up on it.
HOOK_TIMEOUT_S = 5
#: The PermissionRequest hook waits ``decision_wait_s`` for a person, then needs this
#: long to record that it stopped waiting and to print an answer that came meanwhile.
PERMISSION_MARGIN_S = 30


def permission_timeout_s(decision_wait_s: int) -> int:
    """The ``timeout`` of the PermissionRequest hook for a host's ``decision_wait_s``."""
    return decision_wait_s + PERMISSION_MARGIN_S


_OURS = re.compile(r"(?:^|[/\s'\"])clare['\"]?\s+hook\s+[A-Za-z]+|\s-m\s+clare\s+hook\s+[A-Za-z]+")


def is_clare_command(command: object) -> bool:
    return isinstance(command, str) and _OURS.search(command) is not None


def _is_ours(entry: object) -> bool:
    return isinstance(entry, dict) and is_clare_command(entry.get("command"))


def hook_command(program: str, event: str, home: str | None = None) -> str:
    """The command line a hook runs (``program`` may be ``python -m clare``)."""
    home_part = f" --home {_quote(home)}" if home else ""
    return f"{program} hook {event}{home_part}"


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _strip(groups: list[Any]) -> list[Any]:
    """Matcher groups without Clare's commands (groups left empty are dropped)."""
    out = []
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("hooks"), list):
            out.append(group)
            continue
        kept = [h for h in group["hooks"] if not _is_ours(h)]
        if kept:
            out.append({**group, "hooks": kept})
        elif not group["hooks"]:
            out.append(group)  # it was empty before Clare: not ours to remove
    return out


def install(
    settings: dict[str, Any],
    program: str,
    home: str | None = None,
    *,
    decision_wait_s: int = 300,
) -> dict[str, Any]:
    """``settings`` with Clare's hooks for every event in :data:`HOOK_EVENTS` (a new dict).

    Each has a timeout of ``HOOK_TIMEOUT_S``, but PermissionRequest, which waits for a
    person up to ``decision_wait_s``: Claude Code must not end it before it gives up.
    """
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        hooks = {}
    for event in HOOK_EVENTS:
        groups = hooks.get(event)
        groups = _strip(groups) if isinstance(groups, list) else []
        groups.append(
            {
                "matcher": "",
                "hooks": [
                    {
                        "type": "command",
                        "command": hook_command(program, event, home),
                        "timeout": (
                            permission_timeout_s(decision_wait_s)
                            if event == PERMISSION_EVENT
                            else HOOK_TIMEOUT_S
                        ),
                    }
                ],
            }
        )
        hooks[event] = groups
    result["hooks"] = hooks
    return result


def uninstall(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` without any of Clare's hooks (a new dict); other hooks stay."""
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        return result
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept = _strip(groups)
        if kept:
            hooks[event] = kept
        else:
            del hooks[event]
    if not hooks:
        del result["hooks"]
    return result


def installed_events(settings: dict[str, Any]) -> list[str]:
    """The events for which Clare's hook is in ``settings``."""
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return []
    found = []
    for event, groups in hooks.items():
        if not isinstance(groups, list):
            continue
        for group in groups:
            entries = group.get("hooks") if isinstance(group, dict) else None
            if isinstance(entries, list) and any(
                isinstance(h, dict) and is_clare_command(h.get("command")) for h in entries
            ):
                found.append(event)
                break
    return found
