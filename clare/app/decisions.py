"""Decisions, as the CLI, the page and the poller use them.

``answer`` is what ``clare decision allow|deny`` and the page's buttons call.
``stale_asks`` is the poller's sweep: asks of this host whose hook can no
longer be waiting (its session ended, or it asked longer ago than any hook
waits) are settled, so no host shows them pending for ever. It is the
backstop; the hooks settle nearly every ask themselves, within a second.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from clare.core.errors import UsageError
from clare.domain.commands import DecisionMake
from clare.sessions.hooks_settings import permission_timeout_s
from clare.store import queries_decisions

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

    from clare.app.instance import Instance
    from clare.domain.decisions import PermissionAsk


def answer(
    inst: Instance,
    prefix: str,
    behavior: str,
    *,
    reason: str = "",
    via: str = "cli",
    author: str | None = None,
) -> dict[str, Any]:
    """Allow or deny the pending decision ``prefix`` names, from this host."""
    if behavior not in ("allow", "deny"):
        raise UsageError(f"a decision is allow or deny, not {behavior!r}")
    decision = queries_decisions.resolve_decision(inst.views(), prefix)
    return inst.submit(
        DecisionMake(
            decision=decision,
            behavior=behavior,
            reason=reason,
            author=inst.author if author is None else author,
            via=via,
            at=int(time.time() * 1000),
        )
    )


def stale_asks(
    asks: Iterable[PermissionAsk],
    ended_sessions: set[str],
    now_ms: int,
    decision_wait_s: int,
) -> dict[str, list[str]]:
    """This host's pending asks that no hook waits for any more, by how to settle them."""
    # Past the hook's own timeout Claude Code has ended it, whatever it was doing.
    oldest_ms = now_ms - permission_timeout_s(decision_wait_s) * 1000
    stale: dict[str, list[str]] = {}
    for ask in asks:
        if ask.session in ended_sessions:
            stale.setdefault("ended", []).append(ask.id)
        elif ask.asked_at < oldest_ms:
            stale.setdefault("expired", []).append(ask.id)
    return stale


def stale_asks_in(
    conn: sqlite3.Connection, machine_id: str, now_ms: int, decision_wait_s: int
) -> dict[str, list[str]]:
    """``stale_asks`` over this host's pending asks in the views."""
    asks = queries_decisions.pending_of_host(conn, machine_id)
    if not asks:
        return {}
    sessions = {a.session for a in asks}
    marks = ", ".join("?" * len(sessions))
    ended = {
        row[0]
        for row in conn.execute(
            f"SELECT id FROM sessions WHERE status = 'ended' AND id IN ({marks})", list(sessions)
        )
    }
    return stale_asks(asks, ended, now_ms, decision_wait_s)
