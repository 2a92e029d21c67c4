"""The domain: projects, tasks, assignments, sessions, groups and messages, as events."""
