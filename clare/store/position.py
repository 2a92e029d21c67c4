"""The views' position: the last event seq folded into them.

Its own module, importing nothing but the standard library, because the
commands that read the views (and the hook, on every turn) wait on it before
reading, and ``clare.store.views`` brings in the whole domain.
"""

from __future__ import annotations

import sqlite3

#: The position of a views DB the projector has not given its schema yet.
NO_SCHEMA = -1


def position(conn: sqlite3.Connection) -> int:
    """The last event seq the views reflect."""
    return int(conn.execute("SELECT seq FROM position WHERE id = 1").fetchone()[0])


def position_or_none_yet(conn: sqlite3.Connection) -> int:
    """:func:`position`, or ``NO_SCHEMA`` while the views have no schema yet.

    The projector creates the schema just after it starts, so a reader that
    comes first finds no ``position`` table.
    """
    try:
        row = conn.execute("SELECT seq FROM position WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return NO_SCHEMA
    return NO_SCHEMA if row is None else int(row[0])
