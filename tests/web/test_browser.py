"""The page in a real headless Chromium against a real `clare up`: live updates both ways.

Chromium comes from Debian (tests/web/install_browser.sh, which CI runs). In CI
a missing browser fails this test; on a laptop without one it is skipped
with the command to run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trio

from tests.web.cdp import find_chromium, open_browser

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _need_chromium() -> None:
    if find_chromium() is not None:
        return
    message = "Chromium is not installed: run tests/web/install_browser.sh"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Instance:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.env = {**os.environ, "CLARE_HOME": str(home), "CLARE_LOG_LEVEL": "WARNING"}
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def clare(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "clare", *args],
            env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, f"clare {' '.join(args)}: {result.stderr}"
        return result.stdout


@contextmanager
def running_clare() -> Iterator[Instance]:
    home = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))
    inst = Instance(home)
    inst.clare("init", "--name", "browser-host", "--web-port", str(inst.port),
               "--gossip-port", str(_free_port()))  # fmt: skip
    log = (home / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clare", "up", "--nodes", "writer,projector,web"],
        env=inst.env, stdout=log, stderr=log, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(inst.base + "/api/v1/status", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError(f"clare up did not serve the page:\n{_tail(home)}")
            time.sleep(0.1)
        yield inst
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def _tail(home: Path) -> str:
    path = home / "up.log"
    return path.read_text()[-3000:] if path.exists() else ""


def _titles(inst: Instance) -> list[str]:
    tasks: list[dict[str, Any]] = json.loads(inst.clare("task", "list", "--json"))
    return [t["title"] for t in tasks]


async def test_the_page_follows_the_cli_and_the_cli_sees_the_page() -> None:
    _need_chromium()
    with running_clare() as inst:
        inst.clare("project", "add", "demo", "--description", "browser test")
        async with open_browser() as page:
            await page.goto(inst.base + "/projects/demo")
            await page.wait_for("window.clareLive && window.clareLive.connected")
            assert await page.evaluate("document.getElementById('live').textContent") == "live"

            # A task added from the terminal shows up without a reload.
            await trio.to_thread.run_sync(
                inst.clare, "task", "add", "Made in the CLI", "-p", "demo"
            )
            took = await page.wait_for(
                "document.getElementById('board').innerText.includes('Made in the CLI')", 5
            )
            assert took < 2.0, f"the page took {took:.2f} s to show the new task"
            assert await page.evaluate("window.clareLive.refreshes") >= 1

            # A task added on the page is in `clare task list`.
            await page.evaluate(
                """(() => {
                    const form = document.getElementById('add-task');
                    form.querySelector('[name=title]').value = 'Made on the page';
                    form.requestSubmit();
                })()"""
            )
            await page.wait_for("location.search.includes('ok=')")
            await page.wait_for("document.readyState === 'complete'")
            assert "Made on the page" in await page.evaluate("document.body.innerText")
            assert "Made on the page" in await trio.to_thread.run_sync(_titles, inst)

            # A refused action is explained on the page.
            await page.goto(inst.base + "/projects")
            await page.evaluate(
                """(() => {
                    const form = document.querySelector('form[action="/actions/project.add"]');
                    form.querySelector('[name=name]').value = 'demo';
                    form.requestSubmit();
                })()"""
            )
            await page.wait_for("document.querySelector('.flash.error') !== null")
            assert "exists already" in await page.evaluate(
                "document.querySelector('.flash.error').textContent"
            )

            # Leaving the page (as closing its tab does) ends its stream on the server.
            await page.wait_for("window.clareLive && window.clareLive.connected")
            assert await trio.to_thread.run_sync(_streams, inst) == 1
            left = trio.current_time()
            await page.goto("about:blank")
            with trio.fail_after(3):
                while await trio.to_thread.run_sync(_streams, inst) != 0:
                    await trio.sleep(0.05)
            print(f"stream closed {trio.current_time() - left:.3f} s after leaving the page")


def _streams(inst: Instance) -> int:
    status = httpx.get(inst.base + "/api/v1/status", timeout=5).json()
    return int(status["web"]["streams"])


async def test_needs_you_shows_a_new_prompt_live_notifies_and_answers_it() -> None:
    _need_chromium()
    with running_clare() as inst:
        ask = {
            "session_id": "sess-browser-1",
            "cwd": "/tmp",
            "tool_name": "Bash",
            "tool_input": {"command": "make deploy", "description": "deploy"},
        }
        async with open_browser(width=390, height=844) as page:  # a phone's screen
            await page.send(
                "Browser.grantPermissions", origin=inst.base, permissions=["notifications"]
            )
            await page.goto(inst.base + "/decisions")
            await page.wait_for("window.clareLive && window.clareLive.connected")
            assert await page.evaluate("Notification.permission") == "granted"
            hook = subprocess.Popen(
                [sys.executable, "-m", "clare", "hook", "PermissionRequest"],
                env=inst.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                assert hook.stdin is not None
                hook.stdin.write(json.dumps(ask))
                hook.stdin.close()
                hook.stdin = None
                # The card and the count arrive over SSE, and a notification is shown.
                await page.wait_for(
                    "document.getElementById('decision-list').innerText.includes('make deploy')"
                )
                await page.wait_for(
                    "document.querySelector('#nav-needs-you .count').textContent === '1'"
                )
                await page.wait_for("window.clareLive.notified === 1")
                await page.evaluate(
                    "document.querySelector('form[action=\"/actions/decision.allow\"]')"
                    ".requestSubmit()"
                )
                out, _ = await trio.to_thread.run_sync(lambda: hook.communicate(timeout=30))
            finally:
                hook.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    hook.communicate(timeout=10)
            assert json.loads(out)["hookSpecificOutput"]["decision"] == {"behavior": "allow"}
            await page.wait_for("location.search.includes('ok=')")
            await page.wait_for("document.readyState === 'complete'")
            assert (
                await page.evaluate("document.querySelector('#nav-needs-you .count').textContent")
                == "0"
            )
