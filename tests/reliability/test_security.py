"""What another user, a hostile title or a hostile message can reach.

Web token and cross-site protection are tested in ``tests/web/test_guard.py``
and the unknown CURVE key in ``tests/sync/test_transport.py`` and
``test_bad_peers.py`` here; this file covers file modes, another uid on the
runtime sockets, and shell or terminal injection through text.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from clare.sessions.tmux import TmuxTyper
from tests.reliability.harness import client

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.reliability.harness import Pair

pytestmark = pytest.mark.slow

NOBODY = 65534
HOSTILE = [
    "$(touch {marker})",
    "`touch {marker}`",
    "x; touch {marker}; rm -rf /nonexistent",
    "a\ntouch {marker}\n",
    "end\x1b[201~touch {marker}\r",
    "'\"; touch {marker} #",
]


def _connect_as(uid: int, path: Path) -> int:
    """0 if uid can connect to the Unix socket at path, else the errno (in a forked child)."""
    pid = os.fork()
    if pid == 0:  # the child: drop to uid, try, report through the exit status
        code = 0
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(path))
        except OSError as exc:
            code = exc.errno or 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_runtime_folder_sockets_and_secret_key_are_private(pair: Pair) -> None:
    a = pair.a
    runtime = a.paths.runtime_dir
    assert stat.S_IMODE(runtime.stat().st_mode) == 0o700
    sockets = [p for p in runtime.iterdir() if p.is_socket()]
    assert sockets
    if os.geteuid() != 0:
        pytest.skip("trying another uid needs root")
    for path in sockets:
        assert _connect_as(0, path) == 0, path  # the check itself works
        assert _connect_as(NOBODY, path) != 0, f"uid {NOBODY} reached {path}"
    keys = list(a.paths.keys_dir.iterdir())
    secret = [k for k in keys if "secret" in k.name]
    assert secret, keys
    for path in secret:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_hostile_titles_and_notes_are_stored_literally_and_run_nothing(
    pair: Pair, tmp_path: Path
) -> None:
    a = pair.a
    marker = tmp_path / "pwned"
    for text in HOSTILE:
        literal = text.format(marker=marker)
        title = literal.replace("\n", " ").replace("\r", " ").replace("\x1b", " ").strip()
        task = a.clare("task", "add", title, "-p", "pa").stdout.strip()
        with client(a) as c:
            c.call("task.note", {"task": task, "text": literal})
            c.call("message.send", {"text": literal, "sent_at": int(time.time() * 1000)})
        shown = a.json("task", "show", task)
        assert shown["title"] == title
        assert json.dumps(literal.strip())[1:-1] in json.dumps(shown)
    time.sleep(0.3)
    assert not marker.exists()


RECORDER = r"""
import os, sys, tty
sys.stdout.write("\x1b[?2004h"); sys.stdout.flush()  # bracketed paste, as Claude Code asks
tty.setraw(0)
with open(sys.argv[1], "ab", buffering=0) as out:
    while data := os.read(0, 4096):
        out.write(data)
"""


@pytest.fixture
def recording_pane(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (scripts/provision installs it)")
    server = f"clare-rel-{uuid.uuid4().hex[:8]}"
    record = tmp_path / "typed"
    script = tmp_path / "rec.py"
    script.write_text(RECORDER)
    subprocess.run(
        ["tmux", "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "t",
         f"{sys.executable} {script} {record}"],
        check=True, timeout=10,
    )  # fmt: skip
    time.sleep(0.4)
    try:
        yield server, record
    finally:
        subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True, timeout=10)


def test_a_message_typed_into_tmux_is_one_paste_and_runs_nothing(
    recording_pane: tuple[str, Path], tmp_path: Path
) -> None:
    server, record = recording_pane
    marker = tmp_path / "pwned"
    typer = TmuxTyper(socket_name=server)
    for text in HOSTILE:
        typer.type_text("t", text.format(marker=marker))
    time.sleep(0.5)
    typed = record.read_bytes()
    # One paste per message, each closed by its own end marker and one Enter: an ESC
    # inside a message cannot end the paste early and submit the rest as keystrokes.
    assert typed.count(b"\x1b[200~") == len(HOSTILE)
    assert typed.count(b"\x1b[201~") == len(HOSTILE)
    assert typed.count(b"\x1b[201~\r") == len(HOSTILE)
    assert typed.count(b"\x1b") == 2 * len(HOSTILE)
    assert f"$(touch {marker})".encode() in typed
    assert not marker.exists()
