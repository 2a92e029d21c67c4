"""Waiting for a transcript to record something: what delivery at once confirms itself by.

A message typed into a pane or written to a session's inbox is delivered only
once Claude Code's transcript shows it. Both ways poll the file from where it
ended before the send, each with its own idea of a match (:func:`wait_for`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def transcript_end(path: Path) -> int:
    """Where the transcript ends now: the offset to wait from (0 when there is none yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def wait_for(
    path: Path,
    found: Callable[[bytes], bool],
    *,
    offset: int,
    timeout_s: float,
    poll_s: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether ``found`` says yes to bytes appended to ``path`` past ``offset`` in time.

    ``found`` is given each new chunk in order (an empty one when nothing was added)
    and keeps whatever state it needs across chunks (a partial line, a parser).
    """
    position = offset
    deadline = clock() + timeout_s
    while True:
        try:
            with open(path, "rb") as f:
                f.seek(position)
                data = f.read()
        except OSError:
            data = b""
        position += len(data)
        if found(data):
            return True
        if clock() >= deadline:
            return False
        sleep(poll_s)
