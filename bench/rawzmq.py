"""Raw pyzmq baselines: what one request and its answer cost across a process boundary.

A blocking ROUTER in a child process of its own answers a DEALER over
``ipc://``, as the writer answers a ``CommandClient``, with nothing of Clare
in between: no trio, no envelope, no decision. Asked to, it commits the raw
SQLite baseline's insert (``rawsql.RawLog``) before each answer. That round
trip is the floor for any writer whose answer means "on disk" and that lives
in a process of its own, which the architecture fixes.

Run as ``python -m bench.rawzmq ENDPOINT [DB]``: the child end.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import zmq

from bench.procs import BenchError

#: What the client sends to end the child; any other frame is echoed.
_STOP = b"stop"
_READY_TIMEOUT_MS = 10_000


def serve(endpoint: str, db: Path | None) -> None:
    """Answer every frame on ``endpoint``, after an fsync'd insert when ``db`` is given."""
    from bench.rawsql import RawLog  # here: the child alone needs SQLite

    log = RawLog(db) if db is not None else None
    if log is not None:
        log.insert_batch(1)  # the first commit creates the WAL file: not typical
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    try:
        while True:
            identity, frame = sock.recv_multipart()
            if frame == _STOP:
                sock.send_multipart([identity, frame])
                return
            if log is not None:
                log.insert_batch(1)
            sock.send_multipart([identity, frame])
    finally:
        sock.close()
        ctx.term()
        if log is not None:
            log.close()


def round_trips_ms(scratch: Path, count: int, *, insert: bool) -> list[float]:
    """``count`` round trips to a raw ROUTER child, each timed; with its insert if ``insert``."""
    endpoint = f"ipc://{scratch / 'raw-zmq.sock'}"
    db = scratch / "raw-zmq.db"
    command = [sys.executable, "-m", "bench.rawzmq", endpoint]
    if insert:
        command.append(str(db))
    # From the checkout, so ``-m bench.rawzmq`` resolves wherever the harness runs.
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, cwd=Path(__file__).parents[1])
    ctx = zmq.Context()
    sock: Any = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, _READY_TIMEOUT_MS)
    try:
        sock.connect(endpoint)
        # The first answer waits for the child to start and bind: not timed.
        _ask(sock, child, b"warm-up")
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            _ask(sock, child, b"x")
            samples.append((time.perf_counter() - started) * 1000)
        _ask(sock, child, _STOP)
        child.wait(timeout=10)
        return samples
    finally:
        sock.close()
        ctx.term()
        if child.poll() is None:
            child.kill()
            child.wait()
        for leftover in scratch.glob("raw-zmq.*"):
            leftover.unlink()


def _ask(sock: Any, child: subprocess.Popen[bytes], frame: bytes) -> None:
    sock.send(frame)
    try:
        sock.recv()
    except zmq.Again:
        raise BenchError(
            f"the raw pyzmq server did not answer (exit code {child.poll()})"
        ) from None


if __name__ == "__main__":
    serve(sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else None)
