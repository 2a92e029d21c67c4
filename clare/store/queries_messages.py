"""Reads of the messages view with their deliveries, and of the groups messages are
sent to, for the CLI and the page.

The dicts are the JSON contract of ``--json`` and of ``/api/v1``: rename a
field and every script that reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from clare.store.queries_common import iso

if TYPE_CHECKING:
    import sqlite3


def list_groups(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"name": name, "members": json.loads(members)}
        for name, members in conn.execute(
            "SELECT name, members FROM groups_ WHERE removed = 0 ORDER BY name"
        )
    ]


def _message_dict(row: tuple[Any, ...], delivered: list[dict[str, Any]]) -> dict[str, Any]:
    message_id, target, text, author, sent_at, expires_at, _sent_hlc, _h, _o = row
    return {
        "id": message_id,
        "target": target,
        "text": text,
        "author": author,
        "sent_at": iso(sent_at, is_hlc=False),
        "expires_at": iso(expires_at, is_hlc=False),
        "deliveries": delivered,
    }


def list_messages(
    conn: sqlite3.Connection, *, session: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Messages, newest first, with their deliveries (only to ``session`` if given)."""
    rows = conn.execute(
        "SELECT * FROM messages WHERE target != '' ORDER BY sent_hlc DESC LIMIT ?", (limit,)
    ).fetchall()
    out = []
    for row in rows:
        args: list[Any] = [row[0]]
        extra = ""
        if session:
            extra = " AND session = ?"
            args.append(session)
        delivered = [
            {"session": s, "via": v, "at": iso(at, is_hlc=False)}
            for s, v, at in conn.execute(
                f"SELECT session, via, at FROM deliveries WHERE message = ?{extra} ORDER BY at",
                args,
            )
        ]
        out.append(_message_dict(row, delivered))
    return out
