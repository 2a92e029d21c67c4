"""`clare serve`: refuses an open bind without a token; serves and stops on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from pathlib import Path


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
    assert result.returncode == 1
    assert "token" in result.stderr


def test_serve_answers_then_stops_on_interrupt(home: Path) -> None:
    assert _clare(home, "init", "--name", "w").returncode == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "clare", "serve", "--port", "0", "--token", "abc"],
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
        answer = httpx.get(url + "/api/v1/status", headers={"authorization": "Bearer abc"})
        assert answer.status_code in (200, 503)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
