"""Ids people can type, that do not collide across hosts.

A task id is ``t-`` and 10 hex digits from a uuid4 (40 random bits: two hosts
making ten thousand tasks each collide with odds of about one in twenty
thousand, and the projection still keeps both if they do). People see and type
the shortest prefix that is unique, never under 4 digits, as with git hashes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from clare.core.errors import Ambiguous, NotFound, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable

TASK_PREFIX = "t-"
MESSAGE_PREFIX = "m-"
DECISION_PREFIX = "d-"
ID_DIGITS = 10
MIN_SHOWN_DIGITS = 4
#: The longest session id Clare records; every place that takes one in checks it.
MAX_SESSION_ID = 200

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def new_task_id() -> str:
    import uuid  # here: the hook reads MAX_SESSION_ID from this module on every turn

    return TASK_PREFIX + uuid.uuid4().hex[:ID_DIGITS]


def new_message_id() -> str:
    import uuid

    return MESSAGE_PREFIX + uuid.uuid4().hex[:ID_DIGITS]


def new_decision_id() -> str:
    import uuid

    return DECISION_PREFIX + uuid.uuid4().hex[:ID_DIGITS]


def check_name(name: str, what: str) -> str:
    """Project and group names: lower case, digits, '.', '_' and '-', up to 64 chars."""
    if not _NAME.match(name):
        raise UsageError(
            f"{what} name {name!r} is not allowed: use lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (at most 64 characters)"
        )
    return name


def shortest_unique(ids: Iterable[str], min_digits: int = MIN_SHOWN_DIGITS) -> dict[str, str]:
    """Map each id to its shortest unique prefix (keeping the ``t-`` part)."""
    ordered = sorted(set(ids))
    short: dict[str, str] = {}
    for i, ident in enumerate(ordered):
        head = ident.find("-") + 1
        need = head + min_digits
        for neighbour in (
            ordered[i - 1] if i else "",
            ordered[i + 1] if i + 1 < len(ordered) else "",
        ):
            common = 0
            for a, b in zip(ident, neighbour, strict=False):
                if a != b:
                    break
                common += 1
            need = max(need, common + 1)
        short[ident] = ident[: min(need, len(ident))]
    return short


def resolve_prefix(prefix: str, candidates: Iterable[str], what: str) -> str:
    """The one candidate starting with ``prefix``; NotFound or Ambiguous otherwise."""
    matches = sorted({c for c in candidates if c.startswith(prefix)})
    if prefix in matches:
        return prefix
    if not matches:
        raise NotFound(f"no {what} matches {prefix!r}")
    if len(matches) > 1:
        shown = ", ".join(matches[:5]) + (" ..." if len(matches) > 5 else "")
        raise Ambiguous(f"{prefix!r} matches {len(matches)} {what}s: {shown}; type more of it")
    return matches[0]
