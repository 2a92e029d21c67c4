"""The domain: projects, tasks, assignments, sessions, groups and messages, as events."""

# Sessions, messages, claims, groups and deletions register their ops and folds on import;
# importing them here means every process that decides or folds events has them.
from clare.domain import lifecycle, messages, session_ops

__all__ = ["lifecycle", "messages", "session_ops"]
