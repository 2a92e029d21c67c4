"""A stand-in for a Claude Code session's inbox, for tests of the sender and of delivery."""

from __future__ import annotations

import json
import socket
import threading
from typing import TYPE_CHECKING

from clare.sessions.inbox_wire import LineDecoder, UserLine, key_file_name

if TYPE_CHECKING:
    from pathlib import Path


class LiveProbe:
    """Every pid is alive and started at tick 7 (the tests' session files say so)."""

    def is_alive(self, pid: int) -> bool:
        return pid != 999

    def start_ticks(self, pid: int) -> str | None:
        return "7"

    def pid_domain(self) -> str | None:
        return None

    def cmdline(self, pid: int) -> str | None:
        return "claude"


class FakeInbox:
    """A socket that reads lines as Claude Code does and queues user lines in a transcript."""

    def __init__(self, path: str, transcript: Path, *, answer: bool = True) -> None:
        self.path, self.transcript, self.answer = path, transcript, answer
        self.lines: list[object] = []
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(path)
        self._server.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                if not self.answer:
                    conn.recv(1)
                    continue
                decoder, data = LineDecoder(), b""
                while chunk := conn.recv(4096):
                    data += chunk
                lines = decoder.feed(data) + decoder.close()
                self.lines += lines
                with open(self.transcript, "a") as f:
                    for line in lines:
                        if isinstance(line, UserLine):
                            record = {"type": "queue-operation", "operation": "enqueue",
                                      "content": line.text}  # fmt: skip
                            f.write(json.dumps(record) + "\n")

    def close(self) -> None:
        self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        self._thread.join(5)


def write_session(
    claude: Path, pid: int, session: str, sock: str | None, token: str | None
) -> None:
    folder = claude / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    record = {"pid": pid, "sessionId": session, "cwd": "/w", "procStart": "7", "status": "idle"}
    if sock:
        record["messagingSocketPath"] = sock
        if token:
            (folder / key_file_name(pid, sock)).write_text(json.dumps({"peerToken": token}))
    (folder / f"{pid}.json").write_text(json.dumps(record))
