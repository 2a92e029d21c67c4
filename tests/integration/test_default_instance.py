"""The instance of the quick start: no CLARE_HOME, the XDG layout under $HOME."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.integration.stack import free_port


def _clare(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clare", *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_clare_up_on_the_default_instance() -> None:
    home = Path(tempfile.mkdtemp(prefix="clare-x-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLARE_", "XDG_"))}
    env.update(HOME=str(home), CLARE_LOG_LEVEL="WARNING")
    ports = ("--web-port", str(free_port()), "--gossip-port", str(free_port()))
    assert _clare(env, "init", *ports).returncode == 0
    up = subprocess.Popen(
        [sys.executable, "-m", "clare", "up"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while _clare(env, "project", "add", "demo").returncode != 0:
            assert time.monotonic() < deadline, "the default instance never answered"
            time.sleep(0.2)
        assert _clare(env, "task", "add", "hello", "-p", "demo").returncode == 0
        listed = _clare(env, "task", "list")
        assert "hello" in listed.stdout
        data = home / ".local" / "share" / "clare"
        assert (data / "events.db").exists()
        assert (home / ".config" / "clare" / "clare.toml").exists()
        assert not (home / ".config" / "clare" / "data").exists()  # one layout, not two
    finally:
        up.send_signal(signal.SIGTERM)
        try:
            up.wait(timeout=20)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(up.pid, signal.SIGKILL)
            shutil.rmtree(home, ignore_errors=True)
