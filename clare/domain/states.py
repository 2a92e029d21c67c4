"""The task states and the moves between them: a leaf module.

Apart from ``clare.domain`` so that the CLI can name the states without
importing (and registering) the whole domain on every command start.
"""

from __future__ import annotations

STATES = ("todo", "in_progress", "blocked", "review", "done", "cancelled")
#: A task's priority lies within plus or minus this (the writer's bound, which
#: the CLI's options repeat so a bad one is refused before anything is sent).
MAX_PRIORITY = 1_000_000
OPEN_STATES = frozenset({"todo", "in_progress", "blocked", "review"})

# What a person may do from each state. "ready" is not stored: it is a todo task
# whose dependencies are all done (see ``is_ready``).
TRANSITIONS: dict[str, frozenset[str]] = {
    "todo": frozenset({"in_progress", "blocked", "done", "cancelled"}),
    "in_progress": frozenset({"todo", "blocked", "review", "done", "cancelled"}),
    "blocked": frozenset({"todo", "in_progress", "cancelled"}),
    "review": frozenset({"in_progress", "blocked", "done", "cancelled", "todo"}),
    "done": frozenset({"todo"}),
    "cancelled": frozenset({"todo"}),
}

VERBS = {
    "in_progress": "start",
    "blocked": "block",
    "review": "send to review",
    "done": "finish",
    "cancelled": "cancel",
    "todo": "reopen",
}
