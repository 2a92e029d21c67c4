"""The Claude Code hook events Clare listens to: ``clare hooks install`` adds a hook for
each, and ``clare hook EVENT`` handles them. A module of its own so the hook, which
imports as little as it can, and the settings editor share one list."""

from __future__ import annotations

HOOK_EVENTS = (
    "SessionStart", "UserPromptSubmit", "Stop", "SessionEnd", "Notification", "PermissionRequest",
)  # fmt: skip
#: Events whose hook output Claude Code puts in front of the model.
CONTEXT_EVENTS = ("SessionStart", "UserPromptSubmit")
#: The event whose hook asks the fleet for a decision and waits for it (``decision_wait_s``).
PERMISSION_EVENT = "PermissionRequest"
