"""The domain: projects, tasks, assignments, sessions, groups and messages, as events."""

# Sessions, messages, claims and groups register their ops and folds on import;
# importing them here means every process that decides or folds events has them.
from clare.domain import messages, session_ops

__all__ = ["messages", "session_ops"]
