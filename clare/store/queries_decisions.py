"""Reads of decisions (permission prompts) for the CLI, the web page and the hooks.

The dicts are the JSON contract of ``clare decision ... --json`` and of
``/api/v1/decisions``: add fields, never rename them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core import ids
from clare.core.errors import NotFound, UsageError
from clare.domain.decisions import ENTITY_PREFIX, STATES, PermissionAsk
from clare.domain.rows import decision_from_json as from_json
from clare.store.queries_common import iso
from clare.store.queries_hosts import host_names

if TYPE_CHECKING:
    import sqlite3

    from clare.domain.decisions import Answer

_COLUMNS = "fold, last_hlc, last_origin"


def _answer_dict(answer: Answer, names: dict[str, str]) -> dict[str, Any]:
    return {
        "event_id": answer.event_id,
        "outcome": answer.outcome,
        "state": STATES.get(answer.outcome, answer.outcome),
        "host": names.get(answer.origin, answer.origin),
        "host_id": answer.origin,
        "via": answer.via or "session host",
        "author": answer.author,
        "reason": answer.reason,
        "at": iso(answer.at, is_hlc=False),
    }


def decision_dict(state: PermissionAsk, names: dict[str, str]) -> dict[str, Any]:
    won = state.winner
    return {
        "id": state.id,
        "entity": ENTITY_PREFIX + state.id,
        "session": state.session,
        "host": names.get(state.host, state.host),
        "host_id": state.host,
        "project": state.project or None,
        "cwd": state.cwd,
        "tool": state.tool,
        "summary": state.summary,
        "tool_input": state.tool_input,
        "suggestions": list(state.suggestions),
        "asked_at": iso(state.asked_at, is_hlc=False),
        "asked_at_ms": state.asked_at,
        "state": state.state,
        "pending": state.pending,
        "answer": None if won is None else _answer_dict(won, names),
        "conflicts": [_answer_dict(a, names) for a in state.conflicts],
    }


def _states(rows: list[tuple[str, int, str]]) -> list[PermissionAsk]:
    return [from_json(fold, (h, o)) for fold, h, o in rows]


def list_decisions(
    conn: sqlite3.Connection, *, include_settled: bool = False, limit: int = 500
) -> list[dict[str, Any]]:
    """Pending decisions across the fleet, oldest first (all of them, newest last, if
    ``include_settled``; at most ``limit``, the newest ones)."""
    where = "" if include_settled else "WHERE state = 'pending'"
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM (SELECT * FROM decisions {where} "
        "ORDER BY asked_at DESC, id DESC LIMIT ?) ORDER BY asked_at, id",
        (limit,),
    ).fetchall()
    names = host_names(conn)
    return [decision_dict(s, names) for s in _states(rows) if s.asked]


def pending_count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM decisions WHERE state = 'pending'").fetchone()[0])


def pending_ids(conn: sqlite3.Connection) -> list[str]:
    """Ids of the pending decisions, oldest first (the page's navigation shows them)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM decisions WHERE state = 'pending' ORDER BY asked_at, id"
        )
    ]


def pending_of_host(conn: sqlite3.Connection, machine_id: str) -> list[PermissionAsk]:
    """This host's pending asks: the ones whose settling falls to it."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM decisions WHERE state = 'pending' AND host = ?", (machine_id,)
    ).fetchall()
    return _states(rows)


def resolve_decision(conn: sqlite3.Connection, prefix: str) -> str:
    """The decision id a unique prefix names (``d-`` may be left out)."""
    prefix = prefix.strip()
    if not prefix:
        raise UsageError("give a decision id (or the start of one)")
    if not prefix.startswith(ids.DECISION_PREFIX):
        prefix = ids.DECISION_PREFIX + prefix
    rows = conn.execute(
        "SELECT id FROM decisions WHERE id >= ? AND id < ? AND state != 'unasked'",
        (prefix, prefix + "\uffff"),
    )
    return ids.resolve_prefix(prefix, [r[0] for r in rows], "decision")


def get_decision(conn: sqlite3.Connection, decision_id: str) -> dict[str, Any]:
    found = conn.execute(
        f"SELECT {_COLUMNS} FROM decisions WHERE id = ?", (decision_id,)
    ).fetchone()
    if found is None:
        raise NotFound(f"no decision {decision_id}: see `clare decision list --all`")
    state = from_json(found[0], (found[1], found[2]))
    return decision_dict(state, host_names(conn))
