"""A real Clare instance in a temp folder, driven through the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from clare.runtime import upstate
from clare.runtime.node_names import START_ORDER
from clare.runtime.paths import resolve
from clare.store import eventlog


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.paths = resolve(home)
        self.env = {**os.environ, "CLARE_HOME": str(home), "CLARE_LOG_LEVEL": "WARNING"}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / "up.log"

    def clare(
        self, *args: str, check: bool = True, timeout: float = 30
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "clare", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"clare {' '.join(args)} exited {result.returncode}\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.clare(*args, "--json").stdout)

    def init(self) -> None:
        self.clare("init", "--name", "test-host", "--web-port", str(free_port()),
                   "--gossip-port", str(free_port()))  # fmt: skip

    def up(self, timeout_s: float = 20) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "clare", "up"],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        # Every node started, not just the writer: `clare up` starts them one by one,
        # and a test that reads their pids must not find one still missing.
        self.wait_until(
            lambda: all(self.node_pid(name) for name in START_ORDER) and self.answering(),
            timeout_s,
            "stack up",
        )

    def answering(self) -> bool:
        return self.clare("status", "--json", check=False).returncode == 0 and bool(
            self.json("status")["nodes"]["writer"]["answering"]
        )

    def node_pid(self, name: str) -> int:
        state = upstate.read_state(self.paths) or {}
        nodes = state.get("nodes") or {}
        assert isinstance(nodes, dict)
        return int((nodes.get(name) or {}).get("pid") or 0)

    def wait_until(self, predicate: Any, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; log:\n{self.read_log()}")

    def read_log(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def down(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # Whatever happened, leave no node behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


def short_home() -> Path:
    # Unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer.
    return Path(tempfile.mkdtemp(prefix="clare-t-"))


def stored_events(stack: Stack) -> list[eventlog.Event]:
    """Every event in the stack's events DB, read on a connection of its own."""
    conn = eventlog.open_events_reader(stack.paths.events_db)
    try:
        return list(eventlog.iter_after(conn, 0))
    finally:
        conn.close()
