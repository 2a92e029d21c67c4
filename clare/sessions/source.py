"""The session-source interface: what the poller needs from anything that knows sessions.

A source is scanned once per poll pass and answers with what it sees now: one
:class:`Observation` per session it knows, live or just ended. Sources read
files or run commands but talk to no Clare process; the poller core decides
what of it is news. Two exist: Claude Code's own files
(:mod:`clare.sessions.claude_source`) and the optional rclaude command
(:mod:`clare.sessions.rclaude_source`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

#: ``shell``: a bash task of the session runs (Claude Code 2.1.141 and later).
STATUSES = ("busy", "shell", "idle", "waiting", "ended")


@dataclass(frozen=True)
class Observation:
    """One session as a source sees it now. Times are ms since the epoch; "" or 0 = unknown."""

    session: str
    source: str
    pid: int = 0
    name: str = ""
    cwd: str = ""
    branch: str = ""
    status: str = ""  # busy | shell | idle | waiting | ended
    waiting_for: str = ""
    version: str = ""
    model: str = ""
    title: str = ""
    first_prompt: str = ""
    started_at: int = 0
    last_activity: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    tmux_pane: str = ""
    transcript: str = ""
    kind: str = ""  # interactive, bg (a background session), ...
    job_id: str = ""  # a background session's id for ``claude attach``
    permission_mode: str = ""  # default, acceptEdits, plan, bypassPermissions ...
    #: Tokens by model: (input, output, cache writes, cache reads, 1-hour cache writes).
    usage: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class ScanResult:
    """What one scan found.

    ``complete`` is False when the source could not look everywhere (its command
    failed, its folder is unreadable): sessions missing from an incomplete scan
    must not be taken for ended. ``skipped`` counts what was unreadable or not
    understood, by reason; ``problems`` are sentences for the log.
    """

    observations: list[Observation] = field(default_factory=list)
    complete: bool = True
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    bytes_read: int = 0

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


class SessionSource(Protocol):
    """Anything the poller can ask which sessions exist on this host."""

    #: Stable name, recorded in each snapshot's ``source`` field.
    name: str

    def scan(self, now_ms: int) -> ScanResult:
        """Look at every session now; blocking file or process I/O is allowed."""
        ...

    def state(self) -> dict[str, Any]:
        """Plain data to resume from after a restart (offsets, summaries)."""
        ...

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what :meth:`state` returned; unusable state is ignored."""
        ...
