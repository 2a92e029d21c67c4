"""What the sync core asks its I/O shell to do.

The core returns these from every call; the shell performs them in order and
reports back where an action says so. Tokens tie a report to its action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clare.core.events import Event
    from clare.sync.messages import Message
    from clare.sync.vector import Range


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to ``peer`` (encode it with :func:`clare.sync.messages.encode`)."""

    peer: str
    message: Message


@dataclass(frozen=True, slots=True)
class ReadEvents:
    """Read these ranges from the local store (``LocalLog.read``), then call
    ``SyncNode.events_read(token, events, now_ms)``, or ``read_failed(token, now_ms)``."""

    peer: str
    token: int
    ranges: tuple[Range, ...]
    max_events: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Ingest:
    """Hand these remote events to the writer (``LocalLog.ingest``), then call
    ``SyncNode.ingested(token, result, now_ms)``, or ``ingest_failed(token, now_ms)``."""

    peer: str
    token: int
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class PeerUp:
    """We hear from ``peer`` again (for logs and ``clare sync status``)."""

    peer: str


@dataclass(frozen=True, slots=True)
class PeerDown:
    """``peer`` has been silent past the timeout; the shell may reconnect its socket."""

    peer: str


@dataclass(frozen=True, slots=True)
class Notice:
    """Something to log: a peer misbehaved, or events were refused. Nothing to do."""

    peer: str
    code: str
    detail: str


Action = Send | ReadEvents | Ingest | PeerUp | PeerDown | Notice
