"""The hook's spool: commands the writer could not take, kept for the poller to replay.

The hook appends one JSON line per command (``{"id", "op", "args"}``) with a
single ``O_APPEND`` write, so hooks running at once never interleave lines.
To replay, the poller first renames the file (new hooks start a fresh one),
then sends each command with its original id: a command that did reach the
writer before the hook gave up is answered from the writer's idempotency
table and written nothing twice. What cannot be sent yet stays for the next
round (a full disk included: nothing is dropped for want of space); a
line the writer refuses as wrong is dropped, since resending it would be
refused again.

Standard library only: the hook imports this on its fast path.
"""

from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SPOOL_NAME = "hooks.jsonl"
_DRAINING = ".draining"
MAX_LINE_BYTES = 256 * 1024


def append(spool_dir: Path, request_id: str, op: str, args: dict[str, Any]) -> None:
    """Add one command to the spool (creating the folder, mode 0700, as needed)."""
    spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = json.dumps({"id": request_id, "op": op, "args": args}, separators=(",", ":"))
    data = (line + "\n").encode()
    if len(data) > MAX_LINE_BYTES:
        return  # a hook payload this large is not worth keeping (prompts are cut before)
    fd = os.open(spool_dir / SPOOL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class Retry(Exception):
    """Raised by a replay callback: the writer is unreachable, keep the rest for later."""


def pending(spool_dir: Path) -> bool:
    try:
        return any(p.name.startswith("hooks") for p in spool_dir.iterdir())
    except OSError:
        return False


def drain(spool_dir: Path, send: Callable[[str, str, dict[str, Any]], None]) -> tuple[int, int]:
    """Replay spooled commands through ``send(id, op, args)``; returns (sent, dropped).

    ``send`` raises :class:`Retry` to stop and keep the rest; any other exception
    drops that one command.
    """
    live = spool_dir / SPOOL_NAME
    if live.exists():
        # Named by time, so files kept back by an earlier Retry are replayed first.
        os.replace(live, spool_dir / f"{SPOOL_NAME}.{time.time_ns()}.{os.getpid()}{_DRAINING}")
    sent = dropped = 0
    for path in sorted(spool_dir.glob(f"{SPOOL_NAME}.*{_DRAINING}")):
        lines = path.read_bytes().splitlines()
        for i, line in enumerate(lines):
            try:
                item = json.loads(line)
                request_id, op, args = item["id"], item["op"], item["args"]
                if not (isinstance(request_id, str) and isinstance(op, str)):
                    raise TypeError("bad spool line")
                if not isinstance(args, dict):
                    raise TypeError("bad spool line")
            except (ValueError, KeyError, TypeError):
                dropped += 1
                continue
            try:
                send(request_id, op, args)
                sent += 1
            except Retry:
                rest = b"".join(raw + b"\n" for raw in lines[i:])
                tmp = path.with_suffix(".tmp")
                try:
                    tmp.write_bytes(rest)
                    os.replace(tmp, path)
                except OSError:
                    # No room to rewrite (a full disk): keep the whole file. The
                    # lines already sent are sent again later, and the writer
                    # answers those from its idempotency table.
                    tmp.unlink(missing_ok=True)
                return sent, dropped
            except Exception:
                dropped += 1
        path.unlink()
    return sent, dropped
