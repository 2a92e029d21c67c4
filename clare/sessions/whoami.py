"""Which Claude Code session a command runs in (``clare pull`` from an agent's Bash tool).

In order: ``--session`` given by the caller; ``CLAUDE_CODE_SESSION_ID``, which
Claude Code sets for its Bash tool; ``CLAUDE_PID``, whose session file names the
session; and, for versions that set neither, the parent process chain, walked
up until a process with a session file is found. Every file and ``/proc`` read
goes through arguments, so tests need no real Claude Code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.errors import UsageError
from clare.ids import MAX_SESSION_ID
from clare.sessions.claude_home import session_file_path
from clare.sessions.session_file import MalformedSessionFile, read_session_file

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

SESSION_ENV = "CLAUDE_CODE_SESSION_ID"
PID_ENV = "CLAUDE_PID"
MAX_PARENTS = 32


@dataclass(frozen=True)
class Identity:
    session: str
    how: str  # "option", "environment", "claude-pid", "parent-process"
    pid: int = 0
    cwd: str = ""


def parent_pid(pid: int, proc: str = "/proc") -> int | None:
    """The parent of ``pid`` from ``/proc/<pid>/stat`` (field 4), or None."""
    try:
        with open(f"{proc}/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def _bounded(session: str, where: str) -> str:
    if len(session) > MAX_SESSION_ID:
        raise UsageError(
            f"the session id in {where} is {len(session)} characters long; Clare records "
            f"sessions with ids of at most {MAX_SESSION_ID}"
        )
    return session


def _from_file(claude: Path, pid: int) -> tuple[str, str] | None:
    try:
        found = read_session_file(session_file_path(claude, pid))
    except (OSError, MalformedSessionFile):
        return None
    return found.session_id, found.cwd


def identify(
    claude: Path,
    *,
    given: str | None = None,
    env: Mapping[str, str] | None = None,
    start_pid: int | None = None,
    parent_of: Callable[[int], int | None] = parent_pid,
) -> Identity:
    """The session this process runs in; ``UsageError`` saying what to do if none."""
    if given:
        return Identity(_bounded(given, "--session"), "option")
    env = os.environ if env is None else env
    from_env = _bounded(env.get(SESSION_ENV, ""), SESSION_ENV)
    pid_text = env.get(PID_ENV, "")
    pid = int(pid_text) if pid_text.isdigit() else 0
    if from_env:
        return Identity(from_env, "environment", pid)
    if pid:
        found = _from_file(claude, pid)
        if found is not None:
            return Identity(found[0], "claude-pid", pid, found[1])
    current: int | None = os.getppid() if start_pid is None else start_pid
    for _ in range(MAX_PARENTS):
        if current is None or current <= 1:
            break
        found = _from_file(claude, current)
        if found is not None:
            return Identity(found[0], "parent-process", current, found[1])
        current = parent_of(current)
    raise UsageError(
        "cannot tell which Claude Code session this is (no CLAUDE_CODE_SESSION_ID, and no "
        f"parent process has a session file in {claude / 'sessions'}): pass --session ID"
    )
