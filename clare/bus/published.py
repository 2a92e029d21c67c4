"""What the writer publishes: each group commit's events, in as few messages as fit.

One message per commit instead of one per event: every subscriber (projector,
gossip, web) then wakes, receives and decodes once per commit, and ZeroMQ's I/O
threads move one message per subscriber instead of one per event. A commit of
many events (a sync batch of thousands) is cut into messages of at most
``MAX_EVENTS`` events and about ``MAX_BYTES`` bytes: small enough that the
subscribers' queues, bounded in messages, stay small in bytes.

A message is ``[TOPIC, envelope]``; the envelope's ``events`` field holds one
``[seq, id, origin, origin_seq, hlc, kind, body]`` row per event, in seq order.
Subscribers subscribe to ``TOPIC``; ``events_in`` also reads the older
one-event message, so a subscriber understands a writer of either form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.bus import envelope
from clare.core.errors import ProtocolError
from clare.core.events import Event

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

TOPIC = b"ev."
BATCH = "evs"
MAX_EVENTS = 100
MAX_BYTES = 64 * 1024
#: Bytes a row costs beside its body and strings, for cutting messages to size.
_ROW_OVERHEAD = 48


def messages(events: Sequence[Event]) -> Iterator[list[bytes]]:
    """The frames to publish for ``events``: one message per slice that fits."""
    rows: list[list[Any]] = []
    size = 0
    for event in events:
        row = [
            event.seq,
            event.id,
            event.origin,
            event.origin_seq,
            event.hlc,
            event.kind,
            event.body,
        ]
        cost = _ROW_OVERHEAD + len(event.body) + len(event.id) + len(event.origin)
        if rows and (len(rows) >= MAX_EVENTS or size + cost > MAX_BYTES):
            yield [TOPIC, envelope.encode(BATCH, {"events": rows})]
            rows, size = [], 0
        rows.append(row)
        size += cost
    if rows:
        yield [TOPIC, envelope.encode(BATCH, {"events": rows})]


def events_in(frame: bytes) -> list[Event]:
    """The events of one published message; ``ProtocolError`` if it is not one."""
    return events_of(envelope.decode(frame))


def events_of(data: dict[str, Any]) -> list[Event]:
    """The events of a decoded envelope (see ``events_in``)."""
    if data["t"] == envelope.EVENT:
        return [decode_event(data)]
    if data["t"] != BATCH:
        raise ProtocolError(f"expected events, got a {data['t']!r} message")
    rows = envelope.field(data, "events", list)
    return [_event(row) for row in rows]


def _event(row: object) -> Event:
    if not isinstance(row, list) or len(row) != 7:
        raise ProtocolError("a published event is [seq, id, origin, origin_seq, hlc, kind, body]")
    seq, event_id, origin, origin_seq, stamp, kind, body = row
    if not (
        _is_int(seq)
        and isinstance(event_id, str)
        and isinstance(origin, str)
        and _is_int(origin_seq)
        and _is_int(stamp)
        and isinstance(kind, str)
        and isinstance(body, bytes)
    ):
        raise ProtocolError("a published event has a field of the wrong type")
    return Event(seq, event_id, origin, origin_seq, stamp, kind, body)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def encode_event(event: Event) -> bytes:
    """One event as a message of its own: the older form, still read (``events_of``)."""
    return envelope.encode(
        envelope.EVENT,
        {
            "seq": event.seq,
            "id": event.id,
            "origin": event.origin,
            "origin_seq": event.origin_seq,
            "hlc": event.hlc,
            "kind": event.kind,
            "body": event.body,
        },
    )


def event_topic(kind: str) -> bytes:
    return b"ev." + kind.encode()


def decode_event(data: dict[str, Any]) -> Event:
    return Event(
        seq=envelope.field(data, "seq", int),
        id=envelope.field(data, "id", str),
        origin=envelope.field(data, "origin", str),
        origin_seq=envelope.field(data, "origin_seq", int),
        hlc=envelope.field(data, "hlc", int),
        kind=envelope.field(data, "kind", str),
        body=envelope.field(data, "body", bytes),
    )
