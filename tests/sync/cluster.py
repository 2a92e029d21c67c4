"""Several Clare instances as real processes, driven through the `clare` CLI.

Each host has its own short CLARE_HOME, its own free gossip port, and runs
``clare up`` (writer, projector, gossip) in a session of its own, so a crash
is a SIGKILL of the whole process group and a restart is ``clare up`` again.
Everything runs through ``trio.run_process`` so proxies in the test's own
trio loop keep forwarding while the CLI works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from tests.sync.tcpproxy import free_port

if TYPE_CHECKING:
    from pathlib import Path

NODES = "writer,projector,gossip"


class CliError(Exception):
    pass


@dataclass
class Host:
    name: str
    home: Path
    port: int = field(default_factory=free_port)
    public_key: str = ""
    machine_id: str = ""
    proc: subprocess.Popen[bytes] | None = None
    #: What `clare up` runs inside, e.g. ["ip", "netns", "exec", "ns1"]. The CLI needs
    #: no wrapper: it reaches the nodes over ipc files, which no namespace hides.
    wrapper: list[str] = field(default_factory=list)
    #: Where its gossip port listens (``[gossip] bind``): loopback, as a fresh instance.
    bind: str = "127.0.0.1"

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "clare", "--home", str(self.home), *args]

    async def run(self, *args: str, check: bool = True) -> str:
        result = await trio.run_process(
            self.argv(*args), capture_stdout=True, capture_stderr=True, check=False
        )
        if check and result.returncode != 0:
            raise CliError(
                f"{self.name}: clare {' '.join(args)} exited {result.returncode}: "
                f"{result.stderr.decode()[-2000:]}"
            )
        return result.stdout.decode()

    async def json(self, *args: str) -> Any:
        return json.loads(await self.run(*args, "--json"))

    async def init(self) -> None:
        data = await self.json(
            "init", "--name", self.name, "--gossip-port", str(self.port),
            "--gossip-bind", self.bind,
        )  # fmt: skip
        self.machine_id = data["machine_id"]
        self.public_key = (await self.run("keys", "show")).strip()

    def start(self) -> None:
        log = open(self.home / "up.log", "ab")  # noqa: SIM115 - the process owns it
        self.proc = subprocess.Popen(
            [*self.wrapper, *self.argv("up", "--nodes", NODES)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()

    async def wait_up(self, timeout_s: float = 20.0) -> None:
        with trio.fail_after(timeout_s):
            while True:
                status = await self.json("sync", "status")
                if status["running"]:
                    return
                await trio.sleep(0.2)

    def kill(self) -> None:
        """Crash: SIGKILL the supervisor and every node at once."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    async def add_peer(self, other: Host, endpoint: str) -> None:
        await self.run("sync", "peer", "add", other.name, endpoint, "--key", other.public_key)

    async def tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = await self.json("task", "list")
        return sorted(tasks, key=lambda t: str(t["id"]))

    async def vector(self) -> dict[str, int]:
        status = await self.json("sync", "status")
        return dict(status.get("vector", {}))


async def wait_converged(hosts: list[Host], timeout_s: float) -> dict[str, int]:
    """Until every host holds the same events contiguously; returns that vector."""
    vectors: list[dict[str, int]] = []
    with trio.move_on_after(timeout_s):
        while True:
            vectors = [await h.vector() for h in hosts]
            if all(v == vectors[0] for v in vectors):
                return vectors[0]
            await trio.sleep(0.25)
    raise AssertionError(f"no convergence in {timeout_s} s: {vectors}")
