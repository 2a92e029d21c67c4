"""Message targets and the rule for who they reach. Pure, standard library only.

Kept apart from the domain package because the hook decides with it on every
turn of every session, and must not pay for importing the whole domain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.core.errors import UsageError
from clare.core.record import Record

#: How long a broadcast waits for its recipients, by default and at most.
DEFAULT_TTL_MS = 24 * 3600 * 1000
MAX_TTL_MS = 30 * 24 * 3600 * 1000

if TYPE_CHECKING:
    from collections.abc import Iterable

TARGET_KINDS = ("all", "project", "group", "host", "session")


def parse_target(target: str) -> tuple[str, str]:
    """``"project:alpha"`` -> ``("project", "alpha")``; ``"all"`` -> ``("all", "")``."""
    kind, _, name = target.partition(":")
    if kind not in TARGET_KINDS:
        raise UsageError(
            f"message target {target!r} must be all, project:NAME, group:NAME, host:NAME "
            "or session:ID"
        )
    if kind == "all":
        if name:
            raise UsageError("the target `all` takes no name")
        return kind, ""
    if not name:
        raise UsageError(f"message target {kind}: needs a name, as in {kind}:NAME")
    return kind, name


class Recipient(Record):
    """What decides whether a session receives a message."""

    session: str
    host: str  # machine id
    host_name: str
    project: str
    groups: frozenset[str] = frozenset()
    ended: bool = False


def groups_of(
    session: str, host_name: str, groups: Iterable[tuple[str, Iterable[str]]]
) -> frozenset[str]:
    """The groups that hold the session or its host, from ``(name, members)`` pairs."""
    refs = {f"session:{session}", f"host:{host_name}"}
    return frozenset(name for name, members in groups if refs & set(members))


def reaches(target: str, expires_at: int, who: Recipient, now_ms: int) -> bool:
    """Whether a message to ``target`` is for ``who`` now (deliveries aside)."""
    if not target or who.ended:
        return False
    if expires_at and now_ms > expires_at:
        return False
    try:
        kind, name = parse_target(target)
    except UsageError:
        return False  # a target from a newer peer that this version cannot read
    if kind == "all":
        return True
    if kind == "session":
        return who.session == name
    if kind == "project":
        return bool(who.project) and who.project == name
    if kind == "host":
        return name in (who.host_name, who.host)
    return name in who.groups
