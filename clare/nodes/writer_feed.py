"""The writer's PUB as a follower's doorbell: bursts of messages as events, losses marked.

What the projector and the gossip node hand :func:`clare.store.follow.follow`
as the burst they just took off their SUB socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.bus import published
from clare.core.errors import ProtocolError
from clare.runtime.logs import get
from clare.store.follow import MISSED, Missed

if TYPE_CHECKING:
    from clare.core.events import Event

log = get("clare.feed")


def decode_burst(burst: list[list[bytes]], queue_size: int) -> list[Event | Missed]:
    """The events of messages off the writer's PUB; ``MISSED`` where some were lost.

    A message that cannot be decoded is a loss like any other. A burst that
    filled the subscriber's queue (``queue_size`` messages) may have lost
    more behind it, at the publisher, with nothing after it to show the gap.
    """
    events: list[Event | Missed] = []
    for frames in burst:
        try:
            events.extend(published.events_in(frames[-1]))
        except ProtocolError as exc:
            log.warning("undecodable event on the writer's PUB dropped", error=str(exc))
            events.append(MISSED)
    if len(burst) >= queue_size:
        events.append(MISSED)
    return events
