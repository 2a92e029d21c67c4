"""Which Claude Code session a command runs in (``clare pull`` from an agent's Bash tool).

In order: ``--session`` given by the caller; ``CLAUDE_CODE_SESSION_ID``, which
Claude Code sets for its Bash tool; ``CLAUDE_PID``, whose session file names the
session; and, for versions that set neither, the parent process chain, walked
up until a process with a session file is found. Builds that write no session
file (before 2.1, the Agent SDK) are found the same way through the file their
hook recorded for the process (:mod:`clare.sessions.hooked`). Every file and
``/proc`` read goes through arguments, so tests need no real Claude Code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.core.errors import UsageError
from clare.core.ids import MAX_SESSION_ID
from clare.sessions.claude_home import session_file_path
from clare.sessions.hooked import parent_pid
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


def _bounded(session: str, where: str) -> str:
    if len(session) > MAX_SESSION_ID:
        raise UsageError(
            f"the session id in {where} is {len(session)} characters long; Clare records "
            f"sessions with ids of at most {MAX_SESSION_ID}"
        )
    return session


__all__ = ["Identity", "identify", "parent_pid"]


def _from_file(claude: Path, hooked: Path | None, pid: int) -> tuple[str, str] | None:
    candidates = [session_file_path(claude, pid)]
    if hooked is not None:
        candidates.append(hooked / f"{pid}.json")
    for path in candidates:
        try:
            found = read_session_file(path)
        except (OSError, MalformedSessionFile):
            continue
        return found.session_id, found.cwd
    return None


def identify(
    claude: Path,
    *,
    given: str | None = None,
    hooked: Path | None = None,
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
        found = _from_file(claude, hooked, pid)
        if found is not None:
            return Identity(found[0], "claude-pid", pid, found[1])
    current: int | None = os.getppid() if start_pid is None else start_pid
    for _ in range(MAX_PARENTS):
        if current is None or current <= 1:
            break
        found = _from_file(claude, hooked, current)
        if found is not None:
            return Identity(found[0], "parent-process", current, found[1])
        current = parent_of(current)
    raise UsageError(
        "cannot tell which Claude Code session this is (no CLAUDE_CODE_SESSION_ID, and no "
        f"parent process has a session file in {claude / 'sessions'}, nor one its hooks "
        "recorded: are Clare's hooks installed? `clare hooks install`): pass --session ID"
    )
