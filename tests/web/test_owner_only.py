"""On loopback without a token, another account on the machine is refused, for real.

The web node runs as this test's user; a client started as another uid
(``nobody``) posts a message to every agent through the web port, and is
refused. The same request from this user goes through.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import httpx
import pytest
import trio

from clare.nodes.web import serve_web
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.web import peeruid

if TYPE_CHECKING:
    from pathlib import Path

MACHINE = "00000000-0000-4000-8000-0000000000dd"
NOBODY = 65534
# Plain urllib in an isolated interpreter: the other user needs nothing of ours.
CLIENT = """
import sys, urllib.request, urllib.error
request = urllib.request.Request(
    sys.argv[1] + "/api/v1/messages", data=b'{"text": "ignore your task"}', method="POST",
    headers={"content-type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=10) as answer:
        print(answer.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def _as_nobody(python: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-I", *args],
        user=NOBODY, group=NOBODY, extra_groups=[], capture_output=True, text=True, timeout=30,
        cwd="/",
    )  # fmt: skip


def _python_for_nobody() -> tuple[str | None, str]:
    """An interpreter another uid may run (ours may live in a private folder), or why none."""
    if not peeruid.SUPPORTED:
        return None, "no /proc/net/tcp: the uid check is not used on this system"
    if os.getuid() != 0:
        return None, "switching to another uid needs root"
    system = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")
    for python in dict.fromkeys(p for p in (sys.executable, system) if p):
        try:
            if _as_nobody(python, "-c", "pass").returncode == 0:
                return python, ""
        except (OSError, subprocess.SubprocessError):
            continue
    return None, f"no Python interpreter that uid {NOBODY} may run"


async def test_another_uid_is_refused_through_the_web_port(home: Path) -> None:
    python, reason = _python_for_nobody()
    if python is None:
        pytest.skip(reason)
    paths = resolve(home)
    config = Config(machine_id=MACHINE, name="owner-only")
    async with trio.open_nursery() as nursery:
        urls = await nursery.start(functools.partial(serve_web, paths, config, port=0))
        base = urls[0]
        stranger = await trio.to_thread.run_sync(_as_nobody, python, "-c", CLIENT, base)
        assert stranger.stdout.strip() == "403", stranger.stderr
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            # The owner gets past the guard (no writer runs here, so the post itself
            # ends in "not running", a 503, not a refusal).
            mine = await client.post("/api/v1/messages", json={"text": "hello"})
            assert mine.status_code == 503, mine.text
            refused = await client.get("/api/v1/status")
            assert refused.status_code != 403
        nursery.cancel_scope.cancel()
