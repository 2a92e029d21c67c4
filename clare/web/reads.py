"""Reads the web page needs beyond ``clare.store.queries_*``: sessions, sync state, filtered events.

Plain functions over read-only connections, returning dicts with stable field
names (they are part of the ``/api/v1`` contract, see docs/web-api.md). Where
a ``clare.store.queries_*`` module has a function of the same name (the sessions of
``queries_sessions``), that one is used, so the CLI and the web never disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core.errors import UsageError
from clare.domain.kinds import SESSIONS
from clare.store import eventlog, queries_hosts, queries_messages, queries_sessions
from clare.store.queries_common import iso
from clare.store.queries_events import event_dict
from clare.store.tally import Held, OriginTally

if TYPE_CHECKING:
    import sqlite3

    from clare.core.events import Event
    from clare.runtime.config import Config

MAX_EVENTS = 1000


# --- sessions ------------------------------------------------------------------------------


def list_sessions(conn: sqlite3.Connection, *, live_only: bool = False) -> list[dict[str, Any]]:
    """Sessions, most recently active first; ``live_only`` leaves ended ones out."""
    return queries_sessions.list_sessions(conn, include_ended=not live_only)


def get_session(
    views: sqlite3.Connection, events: sqlite3.Connection, session_id: str
) -> dict[str, Any]:
    """One session with its status timeline, its tasks and the messages it was given."""
    session = queries_sessions.get_session(views, session_id)
    session["timeline"] = timeline(events, session_id)
    return session


def timeline(events: sqlite3.Connection, session_id: str) -> list[dict[str, Any]]:
    """A session's observed states, oldest first, runs of one status merged into one entry."""
    points: list[dict[str, Any]] = []
    for event in eventlog.entity_events(events, SESSIONS.entity(session_id)):
        try:
            data = event.data()
        except ValueError:
            continue
        point = {
            "since": iso(event.hlc),
            "at": iso(event.hlc),
            "status": str(data.get("status", "")),
            "waiting_for": str(data.get("waiting_for", "")),
            "last_activity": iso(int(data.get("last_activity", 0) or 0), is_hlc=False),
            "tokens": int(data.get("tokens_in", 0) or 0) + int(data.get("tokens_out", 0) or 0),
            "title": str(data.get("title", "")),
        }
        last = points[-1] if points else None
        if last and (last["status"], last["waiting_for"]) == (
            point["status"],
            point["waiting_for"],
        ):
            point["since"] = last["since"]
            points[-1] = point
        else:
            points.append(point)
    return points


# --- hosts and sync --------------------------------------------------------------------------


def sync_state(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    config: Config,
    held: dict[str, Held] | None = None,
) -> dict[str, Any]:
    """Every host this one knows, with how much of its history is here, and the peers.

    ``held`` is what the events table holds of each origin (an ``OriginTally``
    kept up to date); without it, the whole table is tallied.
    """
    if held is None:
        _seq, held = OriginTally().update(events)
    hosts = []
    known = {h["machine_id"]: h for h in queries_hosts.list_hosts(views)}
    none = Held(0, 0, 0, 0)
    for machine_id in sorted(set(known) | set(held), key=lambda m: known.get(m, {}).get("name", m)):
        tally = held.get(machine_id, none)
        host = known.get(machine_id, {"machine_id": machine_id, "name": "", "groups": []})
        hosts.append(
            {
                **host,
                "name": host.get("name") or machine_id[:8],
                "self": machine_id == config.machine_id,
                "events": tally.events,
                "contiguous": tally.contiguous,
                # Events from above a hole: held, but the hole is still to be pulled.
                "missing": max(0, tally.top - tally.events),
                "last_event_at": iso(tally.newest_hlc),
            }
        )
    return {
        "machine_id": config.machine_id,
        "hosts": hosts,
        "vector": {origin: held[origin].contiguous for origin in sorted(held)},
        "peers": [{"name": p.name, "endpoint": p.endpoint} for p in config.peers],
    }


# --- events ----------------------------------------------------------------------------------


def list_events(
    events: sqlite3.Connection,
    names: dict[str, str],
    *,
    kind: str | None = None,
    entity: str | None = None,
    host: str | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Events newest first, filtered by kind glob, entity, host (name or machine id), seq."""
    if not 1 <= limit <= MAX_EVENTS:
        raise UsageError(f"limit must be from 1 to {MAX_EVENTS}")
    origins = None
    if host:
        origins = [m for m, n in names.items() if n == host] or [host]
    found = eventlog.newest_matching(
        events, limit, kind_glob=kind, entity=entity, origins=origins, before=before, after=after
    )
    return [event_dict(event, names) for event in found]


def events_after(events: sqlite3.Connection, after: int, limit: int) -> list[Event]:
    return eventlog.read_after(events, after, limit)


def last_seq(events: sqlite3.Connection) -> int:
    return eventlog.last_seq(events)


# --- messages --------------------------------------------------------------------------------


def list_messages(
    views: sqlite3.Connection, events: sqlite3.Connection, limit: int = 200
) -> list[dict[str, Any]]:
    """Broadcast messages, newest first, each with its deliveries to sessions."""
    return queries_messages.list_messages(views, limit=limit)
