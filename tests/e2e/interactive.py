"""An interactive Claude Code for end-to-end tests: running in tmux, idle at its prompt.

:func:`open_interactive` starts the installed Claude Code in a pane of a tmux
server of its own (``tmux -L``, so no other tmux is touched), with the
:class:`ClaudeRunner`'s HOME and environment, waits until its session file says
it is idle, and on leaving kills the server and the Claude Code process.

Offline, an interactive session would stop at two dialogs a headless run never
shows: the offer to make auto mode the default (answered in ``.claude.json``
by ``hasSeenAutoDefaultNudge``), and auto mode's classifier, a server call
(avoided by ``permissions.defaultMode`` ``default``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .claude import write_home

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from .claude import ClaudeRunner


@dataclass
class InteractiveSession:
    tmux_server: str
    pid: int
    session_id: str
    session_file: dict[str, Any]

    def screen(self) -> str:
        """What the pane shows now."""
        done = subprocess.run(
            ["tmux", "-L", self.tmux_server, "capture-pane", "-p", "-t", "claude"],
            capture_output=True, text=True, timeout=10, check=False,
        )  # fmt: skip
        return done.stdout


def prepare_interactive_home(home: Path, cwd: Path) -> None:
    """``write_home``, plus what an interactive session needs to start straight at its prompt."""
    write_home(home, [cwd])
    config_path = home / ".claude.json"
    config = json.loads(config_path.read_text())
    config["hasSeenAutoDefaultNudge"] = True
    config_path.write_text(json.dumps(config))
    settings_path = home / ".claude" / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings.setdefault("permissions", {})["defaultMode"] = "default"
    settings_path.write_text(json.dumps(settings, indent=1))


def _idle_session_file(sessions: Path, known: set[str]) -> dict[str, Any] | None:
    for path in sessions.glob("*.json"):
        if path.name in known:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # being written
        if isinstance(record, dict) and record.get("status") == "idle":
            return record
    return None


@contextlib.contextmanager
def open_interactive(
    runner: ClaudeRunner,
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 60,
) -> Iterator[InteractiveSession]:
    """Run ``claude`` interactively in ``cwd`` until the block ends; yields it once idle."""
    prepare_interactive_home(runner.home, cwd)
    sessions = runner.claude_dir / "sessions"
    known = {p.name for p in sessions.glob("*.json")}
    server = f"clare-interactive-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", server, "-f", "/dev/null"]
    # A fresh server takes its environment from the client that starts it.
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", "claude", "-x", "200", "-y", "50", "-c", str(cwd),
         str(runner.binary)],
        env=runner.environment(env), check=True, timeout=10,
    )  # fmt: skip
    pid = 0
    try:
        deadline = time.monotonic() + timeout_s
        while (record := _idle_session_file(sessions, known)) is None:
            if time.monotonic() > deadline:
                raise AssertionError("the interactive Claude Code never became idle")
            time.sleep(0.1)
        pid = int(record["pid"])
        yield InteractiveSession(server, pid, str(record["sessionId"]), record)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, timeout=10, check=False)
        if pid:
            _stop(pid)
        # A killed tmux server leaves its socket file behind.
        folder = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (folder / server).unlink(missing_ok=True)


def _stop(pid: int, timeout_s: float = 10) -> None:
    """End the Claude Code process if closing its terminal did not."""
    deadline = time.monotonic() + timeout_s
    sent = False
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if not sent:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            sent = True
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
