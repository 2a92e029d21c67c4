"""Shared helpers for tests that drive the writer core without sockets."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from clare.bus import rpc
from clare.core.errors import ClareError
from clare.core.hlc import HybridClock
from clare.nodes.writer_core import WriterCore
from clare.store.eventlog import open_events_db

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

_ids = itertools.count()


class Clock:
    """A physical clock the test moves by hand."""

    def __init__(self, ms: int = 1_700_000_000_000) -> None:
        self.ms = ms

    def __call__(self) -> int:
        self.ms += 1
        return self.ms


def make_core(
    path: Path, machine_id: str = "00000000-0000-4000-8000-000000000001", clock: Clock | None = None
) -> WriterCore:
    conn = open_events_db(path)
    return WriterCore(conn, machine_id, HybridClock(physical_ms=clock or Clock()))


def call(core: WriterCore, op: str, request_id: str | None = None, **args: Any) -> dict[str, Any]:
    request = rpc.Request(request_id or f"helper-{next(_ids)}", op, args)
    outcome = core.handle_batch([(b"c", request.encode())])
    ((_, frame),) = outcome.replies
    _, result = rpc.parse_reply(frame)
    if isinstance(result, ClareError):
        raise result
    return result


def count_events(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
