"""A decision's row in the views DB, and back.

The columns are what lists filter and sort on; the whole folded state goes in
``fold`` as JSON, so the projector can go on folding it after a restart and a
reader can show its answers and conflicts without the events DB.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from clare.domain.decisions import Answer, PermissionAsk

if TYPE_CHECKING:
    import sqlite3

ROW_SQL = "INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


def to_json(state: PermissionAsk) -> str:
    data = asdict(state)
    data.pop("last_key")
    return json.dumps(data, sort_keys=True)


def from_json(text: str, last_key: tuple[int, str]) -> PermissionAsk:
    data: dict[str, Any] = json.loads(text)
    data["suggestions"] = tuple(data.get("suggestions", ()))
    data["answers"] = tuple(Answer(**a) for a in data.get("answers", ()))
    return PermissionAsk(**data, last_key=last_key)


def row(state: PermissionAsk) -> tuple[Any, ...]:
    return (
        state.id, state.session, state.host, state.project, state.tool, state.summary,
        state.asked_at, state.state if state.asked else "unasked", len(state.conflicts),
        to_json(state), *state.last_key,
    )  # fmt: skip


def load(conn: sqlite3.Connection, decision_id: str) -> PermissionAsk | None:
    found = conn.execute(
        "SELECT fold, last_hlc, last_origin FROM decisions WHERE id = ?", (decision_id,)
    ).fetchone()
    return None if found is None else from_json(found[0], (found[1], found[2]))
