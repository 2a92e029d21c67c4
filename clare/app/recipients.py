"""Where a session belongs (project, host, groups) and which messages are waiting for it.

Read from the views DB by the hook and by ``clare pull``, so both decide alike.
A session the views do not know yet (its first hook fires before the poller's
first pass) is placed from what the caller knows: its cwd and this host.

The hook runs this on every turn, so it imports no more than the standard
library and :mod:`clare.domain.targets`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.domain.targets import Recipient, groups_of, reaches

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping


@dataclass(frozen=True)
class Pending:
    """A message waiting for one session."""

    id: str
    target: str
    text: str
    author: str
    sent_at: int


def project_for_cwd(cwd: str, paths_by_project: Mapping[str, str]) -> str:
    """The project whose path on this host holds ``cwd`` (the deepest one), or ""."""
    if not cwd:
        return ""
    cwd = os.path.normpath(cwd)
    best, best_len = "", -1
    for name, path in paths_by_project.items():
        if not path:
            continue
        root = os.path.normpath(path)
        inside = cwd == root or cwd.startswith(root.rstrip("/") + "/")
        if inside and len(root) > best_len:
            best, best_len = name, len(root)
    return best


def project_paths(conn: sqlite3.Connection, machine_id: str) -> dict[str, str]:
    """Each project's path on the host ``machine_id``."""
    out: dict[str, str] = {}
    for name, paths in conn.execute("SELECT name, paths FROM projects WHERE deleted = 0"):
        path = json.loads(paths).get(machine_id)
        if isinstance(path, str) and path:
            out[name] = path
    return out


def _group_pairs(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    pairs: list[tuple[str, list[str]]] = [
        (name, json.loads(members))
        for name, members in conn.execute("SELECT name, members FROM groups_ WHERE removed = 0")
    ]
    for name, groups in conn.execute("SELECT name, groups_ FROM hosts"):
        pairs += [(group, [f"host:{name}"]) for group in json.loads(groups)]
    return pairs


def recipient_for(
    conn: sqlite3.Connection, session: str, *, machine_id: str, host_name: str, cwd: str = ""
) -> Recipient:
    """The session as message targets see it, from the views or, failing that, its cwd."""
    row = conn.execute("SELECT snapshot FROM sessions WHERE id = ?", (session,)).fetchone()
    project, ended = "", False
    if row is not None:
        snap = json.loads(row[0])
        machine_id = snap.get("host") or machine_id
        project = snap.get("project") or ""
        cwd = cwd or snap.get("cwd") or ""
        ended = snap.get("status") == "ended"
    named = conn.execute("SELECT name FROM hosts WHERE machine_id = ?", (machine_id,)).fetchone()
    if named is not None:
        host_name = named[0]
    if not project:
        project = project_for_cwd(cwd, project_paths(conn, machine_id))
    groups = groups_of(session, host_name, _group_pairs(conn))
    return Recipient(session, machine_id, host_name, project, groups, ended)


def pending_messages(conn: sqlite3.Connection, who: Recipient, now_ms: int) -> list[Pending]:
    """Messages ``who`` should get and has not got yet, oldest first."""
    rows = conn.execute(
        "SELECT id, target, text, author, sent_at, expires_at FROM messages "
        "WHERE target != '' AND (expires_at = 0 OR expires_at >= ?) "
        "AND id NOT IN (SELECT message FROM deliveries WHERE session = ?) ORDER BY sent_hlc",
        (now_ms, who.session),
    ).fetchall()
    return [
        Pending(message_id, target, text, author, sent_at)
        for message_id, target, text, author, sent_at, expires_at in rows
        if reaches(target, expires_at, who, now_ms)
    ]


def format_messages(messages: list[Pending]) -> str:
    """The text put in front of the model for messages delivered at once."""
    lines = ["Messages for this session from Clare, the project manager of this agent fleet:"]
    for message in messages:
        who = f" from {message.author}" if message.author else ""
        lines.append(f"- [{message.id}{who}, to {message.target}] {message.text}")
    return "\n".join(lines)


def not_in_prompt(messages: list[Pending], prompt: str) -> list[Pending]:
    """``messages`` without those ``prompt`` already carries.

    A message delivered through the inbox socket or tmux becomes the prompt of
    the turn it starts, and that turn's hook runs before the delivery is recorded:
    the hook must not add it a second time. ``format_messages`` writes each id
    as ``[ID``, which a person's prompt is unlikely to hold by chance.
    """
    return [m for m in messages if f"[{m.id}" not in prompt]
