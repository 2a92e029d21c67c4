"""`clare serve`: refuses an open bind without a token; serves and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from pathlib import Path


TOKEN = "Xq3-kP9_vR2mZ7wL"


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CLARE_HOME": str(home), "CLARE_LOG_LEVEL": "WARNING"}


def _clare(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clare", *args],
        env=_env(home), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_serve_refuses_the_network_without_a_token(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    result = _clare(home, "serve", "--host", "0.0.0.0", "--port", "0")
    # EX_CONFIG, in one line: a supervisor does not restart what a config stops.
    assert result.returncode == 78
    assert "token" in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr


def test_serve_refuses_a_guessable_token(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    for weak in (" ", "abc", "aaaaaaaaaaaaaaaaaaaa", "has a space in it 123456"):
        result = _clare(home, "serve", "--port", "0", "--token", weak)
        assert result.returncode == 78, (weak, result.stderr)
        assert "token" in result.stderr
        assert result.stderr.strip().count("\n") == 0, result.stderr


def test_serve_answers_then_stops_on_interrupt(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "clare", "serve", "--port", "0", "--token", TOKEN],
        env=_env(home), stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = ""
        deadline = time.monotonic() + 20
        while "Clare web on" not in line and time.monotonic() < deadline:
            line = proc.stderr.readline()
        match = re.search(r"http://[\d.]+:\d+", line)
        assert match, line
        url = match.group(0)
        assert httpx.get(url + "/api/v1/status").status_code == 401
        answer = httpx.get(url + "/api/v1/status", headers={"authorization": f"Bearer {TOKEN}"})
        assert answer.status_code in (200, 503)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_the_web_node_stops_on_a_config_error_with_status_78(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    config_file = home / "clare.toml"
    config_file.write_text(
        config_file.read_text().replace('host = "127.0.0.1"', 'host = "0.0.0.0"')
    )
    result = _clare(home, "node", "web")
    # 78 tells `clare up` not to restart it: the same config would fail the same way.
    assert result.returncode == 78, result.stderr
    assert "Traceback" not in result.stderr
    assert "ExceptionGroup" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("clare: the web page would be open")


def test_serve_on_a_port_in_use_says_so_in_one_line(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _clare(home, "serve", "--port", str(port))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"clare: cannot listen on 127.0.0.1:{port}")
    )
