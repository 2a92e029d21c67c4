"""The writer's idempotency record: the first answer to each command id.

Read and written once per group commit, not once per command: one SELECT
finds which of a batch's ids were answered before (a client resending after a
timeout), one ``executemany`` stores the batch's answers, in the same
transaction as its events. So a resent command gets the first answer, and an
answer is never stored without the events it reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable, Sequence

#: Ids per SELECT: well under SQLite's bound on bound parameters.
LOOKUP_CHUNK = 500


def stored(conn: sqlite3.Connection, command_ids: Iterable[str]) -> dict[str, bytes]:
    """The stored answer of each of these ids that has one."""
    ids = list(dict.fromkeys(command_ids))
    found: dict[str, bytes] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT id, reply FROM commands WHERE id IN ({marks})", chunk)
        found.update((command_id, bytes(reply)) for command_id, reply in rows)
    return found


def store(conn: sqlite3.Connection, answers: Sequence[tuple[str, bytes]], at_ms: int) -> None:
    """Record ``(command id, answer)`` pairs, answered at ``at_ms``."""
    conn.executemany(
        "INSERT OR REPLACE INTO commands (id, reply, at_ms) VALUES (?, ?, ?)",
        [(command_id, reply, at_ms) for command_id, reply in answers],
    )


def prune(conn: sqlite3.Connection, older_than_ms: int) -> int:
    """Forget answers older than a retry could ever ask for again."""
    return conn.execute("DELETE FROM commands WHERE at_ms < ?", (older_than_ms,)).rowcount
