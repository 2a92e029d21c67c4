"""What a ``PermissionRequest`` hook is asked, and what it may answer: Claude Code's shapes.

Claude Code (2.1.328) gives the hook ``tool_name``, ``tool_input`` (for Bash:
``command`` and ``description``; for the file tools: ``file_path``) and
``permission_suggestions`` (rules the dialog offers to remember). Every host
stores and shows the ask, so it is cut to bounded text here: a summary a
person can judge at a glance, the input as JSON, and each suggestion as JSON.

The answer is ``{"hookSpecificOutput": {"hookEventName": "PermissionRequest",
"decision": {"behavior": "allow"}}}``, or ``"deny"`` with a ``"message"``
that the model is told.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MAX_SUMMARY = 2000
MAX_INPUT = 8192
MAX_SUGGESTION = 500
MAX_SUGGESTIONS = 20
#: Input fields that say best what a tool is about to do, most telling first.
_TELLING = ("command", "file_path", "notebook_path", "path", "url", "pattern", "query", "prompt")


@dataclass(frozen=True)
class PermissionAsk:
    tool: str
    summary: str
    tool_input: str  # JSON, cut to MAX_INPUT characters
    suggestions: tuple[str, ...]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def summary_of(tool: str, tool_input: object) -> str:
    """One short text for the ask: the command, the file or the URL, else the input."""
    if isinstance(tool_input, dict):
        for key in _TELLING:
            value = tool_input.get(key)
            if isinstance(value, str) and value.strip():
                return _cut(value.strip(), MAX_SUMMARY)
    if tool_input in (None, {}, ""):
        return tool
    return _cut(json.dumps(tool_input, ensure_ascii=False, sort_keys=True), MAX_SUMMARY)


def parse_ask(data: dict[str, Any]) -> PermissionAsk | None:
    """The ask in a PermissionRequest hook's input; None without a tool name."""
    tool = data.get("tool_name")
    if not isinstance(tool, str) or not tool:
        return None
    tool_input = data.get("tool_input")
    try:
        as_json = json.dumps(tool_input, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        as_json = ""
    raw = data.get("permission_suggestions")
    suggestions: list[str] = []
    if isinstance(raw, list):
        for item in raw[:MAX_SUGGESTIONS]:
            text = item if isinstance(item, str) else json.dumps(item, sort_keys=True)
            if text:
                suggestions.append(_cut(text, MAX_SUGGESTION))
    return PermissionAsk(
        tool=tool[:200],
        summary=summary_of(tool, tool_input),
        tool_input=_cut(as_json, MAX_INPUT),
        suggestions=tuple(dict.fromkeys(suggestions)),
    )


def answer(behavior: str, reason: str = "", author: str = "") -> dict[str, Any]:
    """The hook's output that passes a person's decision on to Claude Code; a denial's
    message, which the model is told, names who denied it and why."""
    decision: dict[str, Any] = {"behavior": behavior}
    if behavior == "deny":
        who = f" by {author}" if author else ""
        decision["message"] = f"Denied{who} through Clare" + (f": {reason}" if reason else ".")
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}
