from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import zmq

from clare.ops import peercred

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.skipif(not peercred.SUPPORTED, reason="SO_PEERCRED is Linux only")


def test_the_pid_that_bound_a_zmq_ipc_socket_is_found(tmp_path: Path) -> None:
    path = tmp_path / "s.pub"
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    try:
        sock.bind(f"ipc://{path}")
        assert peercred.listener_pid(str(path)) == os.getpid()
    finally:
        sock.close(linger=0)
        ctx.term()


def test_a_file_nobody_listens_on(tmp_path: Path) -> None:
    with pytest.raises(peercred.NobodyListens):
        peercred.listener_pid(str(tmp_path / "missing"))
    leftover = tmp_path / "left"
    ctx = zmq.Context()
    sock = ctx.socket(zmq.PUB)
    sock.bind(f"ipc://{leftover}")
    sock.close(linger=0)
    ctx.term()
    leftover.touch()  # what a crashed node leaves: a file without a listener
    with pytest.raises(peercred.NobodyListens):
        peercred.listener_pid(str(leftover))


def test_a_process_that_took_the_path_over_is_the_one_named(tmp_path: Path) -> None:
    path = tmp_path / "s.cmd"
    ctx = zmq.Context()
    first = ctx.socket(zmq.ROUTER)
    first.bind(f"ipc://{path}")
    code = (
        "import sys, time, zmq\n"
        "s = zmq.Context().socket(zmq.ROUTER); s.bind(sys.argv[1])\n"
        "print('bound', flush=True); time.sleep(30)\n"
    )
    thief = subprocess.Popen(
        [sys.executable, "-c", code, f"ipc://{path}"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert thief.stdout is not None
        assert thief.stdout.readline().strip() == "bound"
        assert peercred.listener_pid(str(path)) == thief.pid
    finally:
        thief.kill()
        thief.communicate()
        first.close(linger=0)
        ctx.term()


def test_pid_alive() -> None:
    assert peercred.pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not peercred.pid_alive(child.pid)
