"""Clare: a project manager for a fleet of Claude Code agents on several machines."""

__version__ = "0.1.0"
