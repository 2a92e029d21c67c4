"""Instances for the ops tests: a fresh one, and one whose nodes run as separate processes.

Nodes are started one by one (``clare node NAME``), not under ``clare up``, so a
test can stop, freeze or kill one of them without a supervisor restarting it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from clare.runtime import config as config_mod
from clare.runtime.lock import is_held
from clare.runtime.paths import InstancePaths, resolve
from tests.integration.stack import short_home

if TYPE_CHECKING:
    from collections.abc import Iterator


class Nodes:
    """Node processes of one instance, each killed at the end whatever happened."""

    def __init__(self, paths: InstancePaths) -> None:
        self.paths = paths
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        home = str(paths.config_file.parent)
        self.env = {**os.environ, "CLARE_HOME": home, "CLARE_LOG_LEVEL": "WARNING"}

    def start(self, name: str, timeout_s: float = 15.0) -> subprocess.Popen[bytes]:
        log = open(self.paths.config_file.parent / f"{name}.log", "ab")  # noqa: SIM115
        with log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "clare", "node", name],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.procs[name] = proc
        socket_file = {"writer": "writer.cmd", "projector": "proj.ctl"}[name]
        deadline = time.monotonic() + timeout_s
        while not (
            is_held(self.paths.lock_file(name)) and (self.paths.runtime_dir / socket_file).exists()
        ):
            assert proc.poll() is None, f"{name} exited {proc.returncode}"
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.05)
        return proc

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        proc.wait(timeout=15)

    def close(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)
                proc.kill()
            proc.wait()
        self.procs.clear()


@pytest.fixture
def paths() -> Iterator[InstancePaths]:
    """A new instance (config made, nothing running) in a short temp folder."""
    home = short_home()
    instance = resolve(home)
    config_mod.init(instance, name="doctor-host")
    try:
        yield instance
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def nodes(paths: InstancePaths) -> Iterator[Nodes]:
    running = Nodes(paths)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def peer_ports() -> Iterator[tuple[int, int]]:
    """A port that accepts TCP connections, and one that refuses them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_server(("127.0.0.1", 0)) as closed:
            dead_port = closed.getsockname()[1]
        yield listener.getsockname()[1], dead_port
