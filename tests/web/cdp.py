"""A small Chrome DevTools Protocol client over trio and wsproto, for the browser test.

Just what the test needs: start a headless Chromium, attach to its page,
send commands and wait for their answers. wsproto comes with hypercorn, so
the browser test needs nothing from PyPI beyond the project's own deps.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("CLARE_CHROMIUM")
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class CdpError(Exception):
    """The browser answered a command with an error."""


class Page:
    def __init__(self, stream: trio.SocketStream, ws: WSConnection) -> None:
        self.stream = stream
        self.ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, trio.MemorySendChannel[dict[str, Any]]] = {}

    async def _reader(self) -> None:
        text = ""
        while True:
            data = await self.stream.receive_some(65536)
            if not data:
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, TextMessage):
                    text += event.data
                    if event.message_finished:
                        message = json.loads(text)
                        text = ""
                        waiter = self._waiting.pop(message.get("id", -1), None)
                        if waiter is not None:
                            waiter.send_nowait(message)
                elif isinstance(event, Ping):
                    await self.stream.send_all(self.ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    return

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        send, receive = trio.open_memory_channel[dict[str, Any]](1)
        self._waiting[command_id] = send
        payload = json.dumps({"id": command_id, "method": method, "params": params})
        await self.stream.send_all(self.ws.send(TextMessage(data=payload)))
        with trio.fail_after(30):
            answer = await receive.receive()
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise CdpError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 10.0) -> float:
        """Poll a JS expression until it is true; returns how long that took."""
        started = trio.current_time()
        with trio.fail_after(timeout_s):
            while not await self.evaluate(expression):
                await trio.sleep(0.02)
        return trio.current_time() - started

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def screenshot(self, path: Path) -> None:
        import base64

        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@asynccontextmanager
async def open_browser(width: int = 1400, height: int = 900) -> AsyncIterator[Page]:
    """A headless Chromium with one page attached, killed on exit."""
    binary = find_chromium()
    if binary is None:
        raise RuntimeError("no Chromium found: run tests/web/install_browser.sh")
    profile = Path(tempfile.mkdtemp(prefix="cw-chrome-", dir="/tmp"))
    proc = subprocess.Popen(
        [
            binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
            f"--window-size={width},{height}", "--remote-debugging-port=0",
            f"--user-data-dir={profile}", "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        with trio.fail_after(30):
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None:
                    raise RuntimeError(f"Chromium exited with {proc.returncode} at start")
                await trio.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        async with httpx.AsyncClient() as client:
            targets = (await client.get(f"http://127.0.0.1:{port}/json/list")).json()
        url = next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"]
        parts = urlsplit(url)
        stream = await trio.open_tcp_stream(parts.hostname or "127.0.0.1", parts.port or port)
        ws = WSConnection(ConnectionType.CLIENT)
        await stream.send_all(ws.send(Request(host=parts.netloc, target=parts.path)))
        while True:
            ws.receive_data(await stream.receive_some(65536))
            if any(isinstance(e, AcceptConnection) for e in ws.events()):
                break
        page = Page(stream, ws)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(page._reader)
            await page.send("Page.enable")
            await page.send("Runtime.enable")
            yield page
            nursery.cancel_scope.cancel()
        await stream.aclose()
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
