"""The web node's memory under hostile clients: a huge request body, streams that never read.

``python -m bench.hostile`` starts a writer, a projector and a web node in a
temporary home and prints the web node's resident memory (VmRSS, and the
peak VmHWM) at each step:

1. at rest, after a few ordinary requests;
2. after a POST whose body is ``--body-mb`` megabytes, sent chunked (no
   ``Content-Length``, so the node must count as it reads), then once more
   announced with ``Content-Length``;
3. with ``--streams`` clients that open ``/api/v1/stream`` and never read a
   byte, while ``--events`` tasks of ``--event-kb`` kB each are written;
4. how long until the node has dropped those clients (``[web] stall_timeout_s``).

The test suite runs the same steps, smaller, and asserts a bound
(tests/web/test_hostile_clients.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field, replace
from typing import Any

from bench.procs import proc_status
from bench.stack import Stack
from clare.runtime import config as config_mod

CHUNK_BYTES = 1024 * 1024
# The shipped limits, read so the same run can measure a version from before them.
MAX_STREAMS: int = getattr(config_mod, "DEFAULT_WEB_MAX_STREAMS", 100)
STALL_TIMEOUT_S: float = getattr(config_mod, "DEFAULT_WEB_STALL_TIMEOUT_S", 30.0)


@dataclass
class Figures:
    """What one run measured, in MB and seconds."""

    steps: list[tuple[str, float, float]] = field(default_factory=list)  # name, RSS, peak
    body_status: dict[str, int] = field(default_factory=dict)
    streams_held: int = 0
    #: Streams still open when the memory under load was read.
    streams_during: int = 0
    streams_after_stall: int = -1
    dropped_after_s: float | None = None

    def mb(self, step: str) -> tuple[float, float]:
        for name, rss, peak in self.steps:
            if name == step:
                return rss, peak
        raise KeyError(step)


def memory_mb(pid: int) -> tuple[float, float]:
    status = proc_status(pid)
    return status.get("VmRSS", 0) / 1024, status.get("VmHWM", 0) / 1024


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A plain HTTP/1.1 request on its own connection: status and decoded JSON."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + payload)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    header, _, rest = answer.partition(b"\r\n\r\n")
    status = int(header.split()[1])
    if b"transfer-encoding: chunked" in header.lower():
        rest = _unchunk(rest)
    try:
        return status, json.loads(rest or b"null")
    except ValueError:
        return status, None


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def post_huge_body(port: int, total_bytes: int, *, chunked: bool) -> int:
    """POST ``total_bytes`` of body to the JSON API; the status the node answers (0: none)."""
    head = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total_bytes}\r\n"
    request = (
        f"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{head}\r\n"
    ).encode()
    piece = b"[" + b" " * (CHUNK_BYTES - 1)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        sent = 0
        # The node may answer and close long before the body ends: stop sending then.
        with contextlib.suppress(OSError):
            while sent < total_bytes:
                data = piece if sent == 0 else b" " * CHUNK_BYTES
                sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)
                sent += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        try:
            answer = sock.recv(65536)
        except OSError:
            return 0
    return int(answer.split()[1]) if answer.startswith(b"HTTP/") else 0


def open_stalled_streams(port: int, count: int) -> list[socket.socket]:
    """``count`` clients that ask for the live stream and then never read a byte."""
    clients = []
    for _ in range(count):
        sock = socket.socket()
        # A small receive window: the server's writes stall after a few kB.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            f"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii")
        )
        clients.append(sock)
    return clients


def open_streams(port: int) -> int:
    return int(_request(port, "GET", "/api/v1/status")[1]["web"]["streams"])


def _wait(probe: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.1)
    return None


def run(
    *,
    body_mb: int,
    streams: int,
    events: int,
    event_kb: int,
    max_streams: int = MAX_STREAMS,
    stall_timeout_s: float = STALL_TIMEOUT_S,
) -> Figures:
    figures = Figures()
    with Stack(prefix="ch") as stack:
        limits = {"web_max_streams": max_streams, "web_stall_timeout_s": stall_timeout_s}
        # Only the settings this version has: the same run measures a version before them.
        known = {k: v for k, v in limits.items() if hasattr(stack.config, k)}
        # A record since issue 13; a dataclass in the versions before it.
        config = (
            stack.config.replace(**known)
            if hasattr(stack.config, "replace")
            else replace(stack.config, **known)
        )
        config_mod.save(stack.paths, config)
        stack.up("writer,projector,web")
        port = config.web_port
        pid = _wait(lambda: stack.node_pids().get("web"), 20)
        _wait(lambda: _alive(port), 20)
        assert _request(port, "POST", "/api/v1/projects", {"name": "hostile"})[0] == 201
        for _ in range(20):
            _request(port, "GET", "/api/v1/status")
            _request(port, "GET", "/api/v1/tasks")
        figures.steps.append(("at rest", *memory_mb(pid)))

        total = body_mb * 1024 * 1024
        figures.body_status["chunked"] = post_huge_body(port, total, chunked=True)
        figures.body_status["content-length"] = post_huge_body(port, total, chunked=False)
        figures.steps.append((f"after a {body_mb} MB body", *memory_mb(pid)))

        clients = open_stalled_streams(port, streams)
        try:
            figures.streams_held = _wait(
                lambda: (n := open_streams(port)) >= min(streams, max_streams) and n, 20
            ) or open_streams(port)
            text = "x" * (event_kb * 1024)
            for i in range(events):
                task = {"project": "hostile", "title": f"big {i}", "body": text}
                status, answer = _request(port, "POST", "/api/v1/tasks", task)
                if status != 201:
                    raise RuntimeError(f"task not made ({status}): {answer}")
            time.sleep(1.0)  # let the node hand out what it can
            figures.streams_during = open_streams(port)
            figures.steps.append(
                (f"{streams} stalled streams, {events} events of {event_kb} kB", *memory_mb(pid))
            )
            started = time.monotonic()
            if _wait(lambda: open_streams(port) == 0, stall_timeout_s + 60):
                figures.dropped_after_s = time.monotonic() - started
            figures.streams_after_stall = open_streams(port)
            figures.steps.append(("after the stalled clients were dropped", *memory_mb(pid)))
        finally:
            for sock in clients:
                sock.close()
    return figures


def _alive(port: int) -> bool:
    try:
        return _request(port, "GET", "/api/v1/status")[0] in (200, 503)
    except OSError:
        return False


def report(figures: Figures) -> str:
    lines = ["| step | RSS (MB) | peak RSS so far (MB) |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {rss:.0f} | {peak:.0f} |" for name, rss, peak in figures.steps]
    lines.append("")
    lines.append(f"Huge body answered: {figures.body_status}")
    lines.append(
        f"Stalled streams held at once: {figures.streams_held}; "
        f"still open when memory was read: {figures.streams_during}"
    )
    dropped = figures.dropped_after_s
    lines.append(
        "Stalled streams dropped after: "
        + (f"{dropped:.1f} s" if dropped is not None else "never (within the wait)")
        + f" ({figures.streams_after_stall} left)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--body-mb", type=int, default=300)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--event-kb", type=int, default=60)
    parser.add_argument("--max-streams", type=int, default=MAX_STREAMS)
    parser.add_argument("--stall-timeout-s", type=float, default=STALL_TIMEOUT_S)
    args = parser.parse_args(argv)
    figures = run(
        body_mb=args.body_mb,
        streams=args.streams,
        events=args.events,
        event_kb=args.event_kb,
        max_streams=args.max_streams,
        stall_timeout_s=args.stall_timeout_s,
    )
    print(report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
