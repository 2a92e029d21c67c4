"""Where a session belongs (project, host, groups) and which messages are waiting for it.

Read from the views DB by the hook and by ``clare pull``, so both decide alike.
A session the views do not know yet (its first hook fires before the poller's
first pass) is placed from what the caller knows: its cwd and this host.

The hook runs this on every turn, so it imports no more than the standard
library, :mod:`clare.domain.targets` and the rows of
:mod:`clare.store.queries_recipients`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from clare.core.record import Record
from clare.domain.targets import Recipient, groups_of, reaches
from clare.store import queries_recipients as rows

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping


class Pending(Record):
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


def recipient_for(
    conn: sqlite3.Connection, session: str, *, machine_id: str, host_name: str, cwd: str = ""
) -> Recipient:
    """The session as message targets see it, from the views or, failing that, its cwd."""
    place = rows.session_place(conn, session)
    project, ended = "", False
    if place is not None:
        machine_id = place.host or machine_id
        project = place.project
        cwd = cwd or place.cwd
        ended = place.ended
    named = rows.host_name(conn, machine_id)
    if named is not None:
        host_name = named
    if not project:
        project = project_for_cwd(cwd, rows.project_paths(conn, machine_id))
    groups = groups_of(session, host_name, rows.group_pairs(conn))
    return Recipient(session, machine_id, host_name, project, groups, ended)


def pending_messages(conn: sqlite3.Connection, who: Recipient, now_ms: int) -> list[Pending]:
    """Messages ``who`` should get and has not got yet, oldest first."""
    return [
        pending(m)
        for m in rows.undelivered_messages(conn, who.session, now_ms)
        if reaches(m.target, m.expires_at, who, now_ms)
    ]


def pending(message: rows.MessageRow) -> Pending:
    return Pending(message.id, message.target, message.text, message.author, message.sent_at)


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
