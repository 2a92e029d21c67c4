"""A real Clare stack for end-to-end tests: its own CLARE_HOME, ``clare up`` in a subprocess.

The home is a short folder under /tmp (Unix socket paths are limited to 107
bytes; pytest's tmp_path is often too long). Only the nodes the sessions
feature needs run: writer, projector, poller. Claude Code's folder is set in
``clare.toml`` so the poller watches the test's Claude home, not the user's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

NODES = "writer,projector,poller"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clare_program() -> list[str]:
    found = shutil.which("clare")
    return [found] if found else [sys.executable, "-m", "clare"]


@dataclass
class ClareStack:
    home: Path
    claude_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)
    name: str = "e2e-host"
    nodes: str = NODES
    gossip_port: int = 0

    def __post_init__(self) -> None:
        self.log = self.home / "up.log"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE")}
        env["CLARE_HOME"] = str(self.home)
        return env

    def run(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*clare_program(), *args],
            env={**self.env, **kw.pop("env", {})},
            capture_output=True,
            text=True,
            timeout=60,
            **kw,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"clare {' '.join(args)} failed: {done.stderr}\n{done.stdout}")
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def init(self) -> None:
        self.gossip_port = _free_port()
        self.run("init", "--name", self.name, "--web-port", str(_free_port()),
                 "--gossip-port", str(self.gossip_port))  # fmt: skip
        config = self.home / "clare.toml"
        text = config.read_text().replace(
            'claude_config_dir = ""', f"claude_config_dir = {json.dumps(str(self.claude_dir))}"
        )
        config.write_text(text)

    def start(self, timeout_s: float = 30) -> None:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [*clare_program(), "up", "--nodes", self.nodes],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.run("status", "--json", check=False)
            if status.returncode == 0:
                nodes = json.loads(status.stdout)["nodes"]
                if nodes["writer"]["answering"] and nodes["poller"]["running"]:
                    return
            time.sleep(0.2)
        raise AssertionError(f"clare up did not come up:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)


def open_stack(claude_dir: Path, name: str = "e2e-host", nodes: str = NODES) -> ClareStack:
    home = Path(tempfile.mkdtemp(prefix="cl-", dir="/tmp"))
    stack = ClareStack(home, claude_dir, name=name, nodes=nodes)
    stack.init()
    stack.start()
    return stack


def pair(a: ClareStack, b: ClareStack) -> None:
    """Make two stacks (running gossip, on loopback) each other's allowed peer."""
    for one, other in ((a, b), (b, a)):
        key = other.run("keys", "show").stdout.strip()
        one.run("sync", "peer", "add", other.name, f"tcp://127.0.0.1:{other.gossip_port}",
                "--key", key)  # fmt: skip


def git_project(path: Path, branch: str) -> Path:
    path.mkdir(parents=True)
    git = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run([*git, "init", "-q", "-b", branch], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], cwd=path, check=True)
    return path


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
