"""What to push, and when: new decisions and sessions newly waiting for a person. No I/O.

A host with push URLs (``[push] urls`` in clare.toml) tells its person about
every prompt of the fleet it learns of. ``PushPlanner`` is fed what the views
show now (pending decisions, waiting sessions) and says what is new since it
last looked; ``due`` gathers what is new into one notification at most every
``min_interval_s``, so a burst of prompts is one message, not fifty. What was
pending when the planner started is taken as known: a restart does not repeat
every notification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The most items one notification lists; the rest are counted.
MAX_LISTED = 5
#: Ids remembered as notified; older ones are forgotten (they are long settled).
MAX_REMEMBERED = 10_000


@dataclass(frozen=True)
class Notice:
    title: str
    body: str


@dataclass
class PushPlanner:
    min_interval_s: float
    known: set[str] = field(default_factory=set)
    waiting: list[tuple[str, str]] = field(default_factory=list)  # (key, line)
    last_sent_s: float | None = None
    started: bool = False

    def observe(self, decisions: list[dict[str, Any]], sessions: list[dict[str, Any]]) -> None:
        """Note what the views show now: pending decisions and waiting sessions."""
        asked_sessions = {d["session"] for d in decisions}
        current: list[tuple[str, str]] = [
            (f"decision:{d['id']}", f"{d['tool']} on {d['host']}: {_line(d['summary'])}")
            for d in decisions
        ]
        current += [
            (
                f"waiting:{s['id']}:{s.get('waiting_for') or ''}",
                f"session {str(s['id'])[:8]} on {s.get('host') or '?'} waits: "
                f"{_line(s.get('waiting_for') or 'for a person')}",
            )
            for s in sessions
            if s["id"] not in asked_sessions  # its decision says it better
        ]
        if not self.started:
            self.known.update(key for key, _ in current)
            self.started = True
            return
        # A session that stopped waiting may wait again later: forget its wait.
        keys = {key for key, _ in current}
        self.known = {k for k in self.known if not k.startswith("waiting:") or k in keys}
        for key, line in current:
            if key not in self.known:
                self.known.add(key)
                self.waiting.append((key, line))
        if len(self.known) > MAX_REMEMBERED:
            self.known = keys

    def due(self, now_s: float) -> Notice | None:
        """The notification to send now, if anything waits and the rate allows it."""
        if not self.waiting:
            return None
        if self.last_sent_s is not None and now_s - self.last_sent_s < self.min_interval_s:
            return None
        lines = [line for _, line in self.waiting]
        self.waiting.clear()
        self.last_sent_s = now_s
        shown = lines[:MAX_LISTED]
        more = len(lines) - len(shown)
        body = "\n".join(shown) + (f"\n... and {more} more" if more else "")
        title = "Clare: a session needs you" if len(lines) == 1 else (
            f"Clare: {len(lines)} sessions need you"
        )  # fmt: skip
        return Notice(title, body)


def _line(text: str, width: int = 120) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1] + "\u2026"
