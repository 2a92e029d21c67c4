"""Sessions known from their hooks: the Claude Code process behind each hook call.

Claude Code before 2.1 (and the Agent SDK) writes no ``sessions/<pid>.json``:
such a session shows itself only through its hooks and its transcript. So the
hook finds the Claude Code process it runs under (``CLAUDE_PID`` when set, else
the first ancestor whose command line is Claude Code's) and records it in
Clare's own folder, in the shape of a Claude Code session file:
``<data>/hooked/<pid>.json`` with ``pid``, ``sessionId``, ``cwd``,
``procStart``, ``pidDomain``, ``startedAt`` and ``transcriptPath``.

With that file, such a session is first-class: the Claude Code source follows
its transcript and notices its end when the process is gone (as for a file
left by a crash), and ``clare pull`` finds itself by its parent processes. A
``/clear`` starts a new session id in the same process, so the file is keyed
by pid and rewritten when the id changes.

The hook runs this on every turn: the file is written only when it does not
already name this session, and the walk reads a few ``/proc`` files.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING

from clare.sessions.session_file import (
    PROC_PROBE,
    MalformedSessionFile,
    ProcessProbe,
    looks_like_claude_code,
    read_session_file,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

PID_ENV = "CLAUDE_PID"
MAX_PARENTS = 16
#: Programs between Claude Code and its hook: never Claude Code, whatever their
#: arguments say (a hook command's path may well mention claude).
_GO_BETWEENS = frozenset({"sh", "bash", "dash", "zsh", "fish", "env", "timeout", "nice"})


def hooked_dir(data_dir: Path) -> Path:
    """Where the hook records the sessions it saw."""
    return data_dir / "hooked"


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


def claude_pid(
    env: Mapping[str, str],
    start_pid: int,
    *,
    parent_of: Callable[[int], int | None] = parent_pid,
    probe: ProcessProbe = PROC_PROBE,
) -> int | None:
    """The Claude Code process a hook (or a command of its Bash tool) runs under."""
    given = env.get(PID_ENV, "")
    if given.isdigit() and int(given) > 1:
        return int(given)
    current: int | None = start_pid
    for _ in range(MAX_PARENTS):
        if current is None or current <= 1:
            return None
        cmdline = probe.cmdline(current)
        if cmdline is not None and _is_claude_code(cmdline):
            return current
        current = parent_of(current)
    return None


def _is_claude_code(cmdline: str) -> bool:
    program = cmdline.split(" ", 1)[0].rsplit("/", 1)[-1].lstrip("-")
    if program in _GO_BETWEENS or program.startswith("python"):
        return False
    return looks_like_claude_code(cmdline)


def record(
    folder: Path,
    pid: int,
    session: str,
    cwd: str,
    transcript_path: str,
    now_ms: int,
    probe: ProcessProbe = PROC_PROBE,
) -> bool:
    """Note that ``pid`` runs ``session``; False when the file already said so."""
    path = folder / f"{pid}.json"
    with contextlib.suppress(OSError, MalformedSessionFile):
        known = read_session_file(path)
        if known.session_id == session and (known.cwd == cwd or not cwd):
            return False
    data = {
        "pid": pid,
        "sessionId": session,
        "cwd": cwd or "/",
        "startedAt": now_ms,
        "procStart": probe.start_ticks(pid),
        "pidDomain": probe.pid_domain(),
        "transcriptPath": transcript_path or None,
    }
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{pid}.json.{os.getpid()}"
    tmp.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    os.replace(tmp, path)
    return True


def forget(folder: Path, pid: int, session: str) -> None:
    """The session ended (SessionEnd): drop its file, unless the pid runs another by now."""
    path = folder / f"{pid}.json"
    with contextlib.suppress(OSError, MalformedSessionFile):
        if read_session_file(path).session_id == session:
            path.unlink()
