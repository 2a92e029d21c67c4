"""One running Claude Code process, as its ``sessions/<pid>.json`` file describes it.

Claude Code writes the file when a process starts and rewrites it as its status
changes (busy, idle, waiting). A crash leaves it behind, and the pid may since
belong to another program, so a file is only believed when the process with
that pid is alive *and* is the one that wrote it:

- ``procStart`` is field 22 of ``/proc/<pid>/stat`` (the start time in clock
  ticks since boot, as a decimal string) when the process wrote the file; the
  same field read now must match. A reused pid starts later.
- ``pidDomain`` (``linux:<machine id>:pid:[<pid namespace>]``) names the
  machine and pid namespace the pid belongs to; a file from another machine
  (a shared home folder) or container describes no process here.
- Where neither can be compared (no ``/proc``, a foreign format), a live pid
  whose command line mentions claude or node is taken as good enough.

The probe that reads ``/proc`` is an argument, so tests need no real process.
"""

from __future__ import annotations

import enum
import json
import os
from typing import TYPE_CHECKING, Any, Literal, Protocol

from clare.core.errors import ProtocolError
from clare.core.record import Record

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "PROC_PROBE",
    "Liveness",
    "MalformedSessionFile",
    "ProcProbe",
    "ProcessProbe",
    "SessionFile",
    "SessionStatus",
    "check_liveness",
    "parse_session_file",
    "read_session_file",
]

SessionStatus = Literal["busy", "shell", "idle", "waiting", "unknown"]


class MalformedSessionFile(ProtocolError):
    """A session file is not the JSON object Claude Code writes (Claude Code's fault, or a
    half-written file: read it again later)."""


class SessionFile(Record):
    """What Claude Code says about one of its running processes.

    Times are milliseconds since the epoch, as Claude Code writes them. Fields
    missing from the file are ``None``; an unknown status is ``"unknown"``.
    """

    pid: int
    session_id: str
    cwd: str
    started_at_ms: int | None = None
    proc_start: str | None = None
    pid_domain: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    status: SessionStatus = "unknown"
    waiting_for: str | None = None
    updated_at_ms: int | None = None
    tmux_pane: str | None = None
    messaging_socket_path: str | None = None
    job_id: str | None = None  # background sessions (kind "bg"): what ``claude attach`` takes
    #: Only in the files Clare's hook writes (``clare.sessions.hooked``): the hook is told it.
    transcript_path: str | None = None


def parse_session_file(data: bytes | str) -> SessionFile:
    """Parse the contents of a session file; extra fields are ignored.

    Raises :class:`MalformedSessionFile` when it is not a JSON object with an
    integer ``pid``, a ``sessionId`` and a ``cwd``.
    """
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError: nesting deeper than Python's stack, never Claude Code's file.
        raise MalformedSessionFile(f"session file is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MalformedSessionFile("session file is not a JSON object")
    pid = raw.get("pid")
    session_id = raw.get("sessionId")
    cwd = raw.get("cwd")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise MalformedSessionFile(f"session file has no valid pid: {pid!r}")
    if not isinstance(session_id, str) or not session_id:
        raise MalformedSessionFile("session file has no sessionId")
    if not isinstance(cwd, str) or not cwd:
        raise MalformedSessionFile("session file has no cwd")
    return SessionFile(
        pid=pid,
        session_id=session_id,
        cwd=cwd,
        started_at_ms=_int(raw.get("startedAt")),
        proc_start=_str(raw.get("procStart")),
        pid_domain=_str(raw.get("pidDomain")),
        version=_str(raw.get("version")),
        kind=_str(raw.get("kind")),
        name=_str(raw.get("name")),
        status=_status(raw.get("status")),
        waiting_for=_str(raw.get("waitingFor")),
        updated_at_ms=_int(raw.get("updatedAt")),
        tmux_pane=_str(raw.get("tmux")),
        messaging_socket_path=_str(raw.get("messagingSocketPath")),
        job_id=_str(raw.get("jobId")),
        transcript_path=_str(raw.get("transcriptPath")),
    )


def read_session_file(path: Path) -> SessionFile:
    """Read and parse one ``sessions/<pid>.json``; ``OSError`` passes through (it may be gone)."""
    return parse_session_file(path.read_bytes())


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _status(value: Any) -> SessionStatus:
    # Spelled out so the type checker sees each literal; new statuses read as unknown.
    if value == "busy":
        return "busy"
    if value == "idle":
        return "idle"
    if value == "waiting":
        return "waiting"
    if value == "shell":
        return "shell"  # a bash task runs (2.1.141+)
    return "unknown"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class ProcessProbe(Protocol):
    """What the liveness check needs to know about processes on this host."""

    def is_alive(self, pid: int) -> bool:
        """Whether a process (not a zombie) with this pid exists."""
        ...

    def start_ticks(self, pid: int) -> str | None:
        """Field 22 of ``/proc/<pid>/stat``, or None if it cannot be read."""
        ...

    def pid_domain(self) -> str | None:
        """This host's ``linux:<machine id>:pid:[<ns>]`` as Claude Code spells it, or None."""
        ...

    def cmdline(self, pid: int) -> str | None:
        """The process's command line joined by spaces, or None if unreadable."""
        ...


class Liveness(enum.Enum):
    """The verdict on a session file; only ``LIVE`` means a process is behind it."""

    LIVE = "live"
    DEAD = "dead"  # no such process: the file outlived a crash
    REUSED = "reused"  # the pid now belongs to another process
    FOREIGN = "foreign"  # the file comes from another machine or pid namespace


def check_liveness(session: SessionFile, probe: ProcessProbe | None = None) -> Liveness:
    """Decide whether the process that wrote ``session`` is still running here."""
    probe = PROC_PROBE if probe is None else probe
    if session.pid_domain is not None:
        here = probe.pid_domain()
        if here is not None and here != session.pid_domain:
            return Liveness.FOREIGN
    if not probe.is_alive(session.pid):
        return Liveness.DEAD
    if session.proc_start is not None:
        now = probe.start_ticks(session.pid)
        if now is not None:
            return Liveness.LIVE if now == session.proc_start else Liveness.REUSED
    cmdline = probe.cmdline(session.pid)
    if cmdline is None:
        # Alive but unreadable (another user's process under hidepid): nothing
        # says the pid was reused, and a false "dead" would hide a session.
        return Liveness.LIVE
    return Liveness.LIVE if looks_like_claude_code(cmdline) else Liveness.REUSED


#: Interpreters Claude Code's npm package runs under, by their program's file name.
_NODE_PROGRAMS = frozenset({"node", "nodejs"})


def looks_like_claude_code(cmdline: str) -> bool:
    """Whether a command line could be Claude Code's: its own ``claude`` program,
    or Node.js running it. The program must be Node.js itself: "node" anywhere
    (``pytest tests/nodes``) took any process for a live session."""
    if "claude" in cmdline.lower():
        return True
    program = cmdline.split(" ", 1)[0]
    return program.rsplit("/", 1)[-1] in _NODE_PROGRAMS


class ProcProbe:
    """A :class:`ProcessProbe` reading Linux's ``/proc`` (elsewhere for tests)."""

    def __init__(self, proc: str = "/proc", machine_id: str = "/etc/machine-id") -> None:
        self._proc = proc
        self._machine_id = machine_id

    def _stat_fields(self, pid: int) -> list[str] | None:
        try:
            with open(f"{self._proc}/{pid}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            return None
        # The command name (field 2) is in parentheses and may hold spaces or
        # parentheses itself: split after the last ')', which starts at field 3.
        return stat[stat.rfind(")") + 2 :].split()

    def is_alive(self, pid: int) -> bool:
        fields = self._stat_fields(pid)
        if fields is not None:
            return bool(fields) and fields[0] not in ("Z", "X")
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def start_ticks(self, pid: int) -> str | None:
        fields = self._stat_fields(pid)
        return fields[19] if fields is not None and len(fields) > 19 else None

    def pid_domain(self) -> str | None:
        try:
            namespace = os.readlink(f"{self._proc}/self/ns/pid")
        except OSError:
            return None
        try:
            with open(self._machine_id, encoding="ascii", errors="replace") as f:
                machine = f.read().strip()
        except OSError:
            machine = ""  # Claude Code writes an empty id then too
        return f"linux:{machine}:{namespace}"

    def cmdline(self, pid: int) -> str | None:
        try:
            with open(f"{self._proc}/{pid}/cmdline", "rb") as f:
                raw = f.read()
        except OSError:
            return None
        return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


#: The probe used when none is given.
PROC_PROBE = ProcProbe()
