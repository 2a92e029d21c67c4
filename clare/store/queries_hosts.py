"""Reads of the hosts view: each host's name, and the hosts with their groups and when
each was last seen.

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from clare.store.queries_common import iso

if TYPE_CHECKING:
    import sqlite3


def host_names(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT machine_id, name FROM hosts"))


def list_hosts(
    conn: sqlite3.Connection, events: sqlite3.Connection | None = None
) -> list[dict[str, Any]]:
    """Known hosts. ``named_at`` is when the host last took its name; ``last_seen`` is
    the stamp of its newest event here when ``events`` is given (else ``named_at``)."""
    hosts = []
    for m, n, g, h, _o in conn.execute("SELECT * FROM hosts ORDER BY name"):
        seen = h
        if events is not None:
            # The top origin_seq is read through the (origin, origin_seq) index.
            row = events.execute(
                "SELECT hlc FROM events WHERE origin = ? ORDER BY origin_seq DESC LIMIT 1", (m,)
            ).fetchone()
            seen = max(h, row[0]) if row else h
        hosts.append(
            {
                "machine_id": m,
                "name": n,
                "groups": json.loads(g),
                "last_seen": iso(seen),
                "named_at": iso(h),
            }
        )
    return hosts
