"""A real Clare instance for the benchmarks: its own CLARE_HOME, started with `clare up`.

The instance lives in a short folder under /tmp (Unix socket paths are
limited to 107 bytes). Everything the harness starts is stopped by its pid:
the supervisor gets SIGTERM and stops its nodes; if it does not, the nodes
named in its ``up.json`` are killed one by one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.procs import BenchError, clare_command, proc_status
from clare.bus.client import CommandClient
from clare.bus.endpoints import GOSSIP_CONTROL, PROJECTOR_CONTROL, WRITER_COMMANDS, Endpoints
from clare.core.errors import ClareError
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod
from clare.runtime.upstate import read_state

if TYPE_CHECKING:
    from types import TracebackType

#: Generous: with a million events the projector folds them all before it is ready.
READY_TIMEOUT_S = 900.0


class Stack:
    """One instance in a temporary home: ``init`` on entry, ``up`` and ``stop`` on demand."""

    def __init__(self, prefix: str = "cb") -> None:
        # /tmp, not $TMPDIR: a long temp root would overflow the socket path limit.
        self.home = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        self.paths = paths_mod.resolve(self.home)
        self.endpoints = Endpoints(self.paths)
        self.env = {**os.environ, "CLARE_HOME": str(self.home), "CLARE_LOG_LEVEL": "WARNING"}
        self._up: subprocess.Popen[bytes] | None = None
        self._log = self.home / "up.log"

    def __enter__(self) -> Stack:
        # Free ports, so a stack already running on this machine keeps its own.
        web, gossip = _free_port(), _free_port()
        self.clare("init", "--name", "bench", "--web-port", str(web), "--gossip-port", str(gossip))
        self.config = config_mod.load(self.paths)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def machine_id(self) -> str:
        return self.config.machine_id

    def clare(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [*clare_command(), *args], env=self.env, input=stdin, capture_output=True, check=False
        )
        if done.returncode != 0:
            raise BenchError(f"clare {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
        return done

    def up(self, nodes: str | None = None) -> float:
        """Start ``clare up`` (every node, or the comma-separated ``nodes``).

        Returns the seconds until the views hold every stored event.
        """
        started = time.monotonic()
        argv = [*clare_command(), "up", *(("--nodes", nodes) if nodes else ())]
        with open(self._log, "wb") as log:
            self._up = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = started + READY_TIMEOUT_S
        seq = self._wait(deadline, self.writer_seq)
        self._wait(deadline, lambda: (p := self.views_position()) is not None and p >= seq)
        return time.monotonic() - started

    def _wait(self, deadline: float, probe: Any) -> Any:
        while time.monotonic() < deadline:
            if self._up is not None and self._up.poll() is not None:
                raise BenchError(f"clare up exited early: {self._log.read_text()[-2000:]}")
            result = probe()
            if result:
                return result
            time.sleep(0.05)
        raise BenchError(f"the stack in {self.home} was not ready in {READY_TIMEOUT_S:.0f} s")

    def command_client(self, *, timeout_s: float = 5.0) -> CommandClient:
        return CommandClient(
            self.endpoints.ipc(WRITER_COMMANDS),
            self.endpoints.socket_file(WRITER_COMMANDS),
            timeout_s=timeout_s,
            attempts=1,
        )

    def writer_seq(self) -> int | None:
        try:
            with self.command_client(timeout_s=0.5) as client:
                return int(client.call("ping")["seq"])
        except ClareError:
            return None

    def views_position(self) -> int | None:
        try:
            return int(self.control(PROJECTOR_CONTROL, "status")["position"])
        except ClareError:
            return None

    def control(self, name: str, op: str, timeout_s: float = 0.5) -> dict[str, Any]:
        """One request to a node's control socket (``proj.ctl``, ``gossip.ctl``)."""
        with CommandClient(
            self.endpoints.ipc(name),
            self.endpoints.socket_file(name),
            timeout_s=timeout_s,
            attempts=1,
        ) as client:
            return client.call(op)

    def sync_status(self) -> dict[str, Any]:
        """What ``clare sync status --json`` prints, asked of the gossip node directly.

        The same document as the CLI's, without starting a Python process per poll
        on a machine whose two cores the nodes being measured need.
        """
        return self.control(GOSSIP_CONTROL, "status", timeout_s=2.0)

    def public_key(self) -> str:
        return self.clare("keys", "show").stdout.decode().strip()

    def add_peer(self, name: str, port: int, key: str) -> None:
        """``clare sync peer add``: sync with the gossip node listening on ``port``."""
        self.clare("sync", "peer", "add", name, f"tcp://127.0.0.1:{port}", "--key", key)

    def node_pids(self) -> dict[str, int]:
        state = read_state(self.paths) or {}
        nodes = state.get("nodes")
        pids = {"up": int(self._up.pid)} if self._up is not None else {}
        if isinstance(nodes, dict):
            pids.update({name: int(n["pid"]) for name, n in nodes.items() if n.get("pid")})
        return pids

    def peak_rss_kb(self) -> dict[str, int]:
        """Peak resident memory (VmHWM) of each process of the stack, by node name."""
        return {
            name: status["VmHWM"]
            for name, pid in self.node_pids().items()
            if "VmHWM" in (status := proc_status(pid))
        }

    def stop(self) -> None:
        if self._up is None:
            return
        nodes = self.node_pids()
        self._up.send_signal(signal.SIGTERM)
        try:
            self._up.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._up.kill()
            self._up.wait()
        for name, pid in nodes.items():
            if name != "up" and proc_status(pid):
                os.kill(pid, signal.SIGKILL)
        self._up = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
