"""The messages peers exchange, and their msgpack wire form.

Every message is a small frozen dataclass with ``to_wire()`` (a dict of plain
msgpack types) and ``from_wire(dict)``. A frame is one msgpack map with ``v``
(the protocol version), ``t`` (the message type) and the fields of that type.
Decoding validates every field, because the bytes come from another machine:
a wrong type, a negative seq, an oversized list or string all raise
:class:`~clare.core.errors.ProtocolError` (or :class:`~clare.core.errors.FrameTooLarge`),
never anything else. Unknown keys are ignored, so a later minor revision can
add optional fields without a version bump.

An event travels as ``[id, origin, origin_seq, hlc, kind, body]``: its local
``seq`` is the sender's arrival order and means nothing to the receiver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import msgpack

from clare.core.errors import FrameTooLarge, ProtocolError
from clare.core.events import Event
from clare.sync.vector import Range

if TYPE_CHECKING:
    from collections.abc import Mapping

PROTOCOL_VERSION = 1

#: Bounds a peer cannot exceed, whatever it claims (see docs/sync-protocol.md).
MAX_FRAME_BYTES = 8 * 1024 * 1024
MAX_ORIGINS = 4096
MAX_RANGES = 1024
MAX_EVENTS = 10_000
MAX_SEQ = (1 << 63) - 1
MAX_HLC = (1 << 64) - 1
MAX_NAME_CHARS = 128  # origins, ids, kinds, error codes
MAX_TEXT_CHARS = 1024  # error messages


# -- field validation ---------------------------------------------------------


def _int(value: object, what: str, lo: int, hi: int) -> int:
    # bool is an int to Python but never a count or a seq on the wire.
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ProtocolError(f"{what} must be an integer in {lo}..{hi}, got {value!r:.60}")
    return value


def _str(value: object, what: str, max_chars: int = MAX_NAME_CHARS, *, empty: bool = False) -> str:
    if not isinstance(value, str) or len(value) > max_chars or (not value and not empty):
        raise ProtocolError(f"{what} must be a string of at most {max_chars} chars")
    return value


def _list(value: object, what: str, max_items: int) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) > max_items:
        raise ProtocolError(f"{what} must be a list of at most {max_items} items")
    return list(value)


def _field(wire: Mapping[str, object], key: str) -> object:
    try:
        return wire[key]
    except KeyError:
        raise ProtocolError(f"{wire.get('t')!r} message lacks field {key!r}") from None


def vector_to_wire(vector: Mapping[str, int]) -> dict[str, int]:
    return dict(vector)


def vector_from_wire(value: object) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > MAX_ORIGINS:
        raise ProtocolError(f"vector must be a map of at most {MAX_ORIGINS} origins")
    return {_str(o, "vector origin"): _int(s, "vector seq", 0, MAX_SEQ) for o, s in value.items()}


def range_from_wire(value: object) -> Range:
    items = _list(value, "range", 3)
    if len(items) != 3:
        raise ProtocolError("range must be [origin, first, last]")
    origin = _str(items[0], "range origin")
    first = _int(items[1], "range first", 1, MAX_SEQ)
    last = _int(items[2], "range last", first, MAX_SEQ)
    return Range(origin, first, last)


def event_to_wire(event: Event) -> list[Any]:
    return [event.id, event.origin, event.origin_seq, event.hlc, event.kind, event.body]


def event_from_wire(value: object) -> Event:
    # The common case in one expression: a catch-up decodes a million of these,
    # and the field helpers below cost more in calls than in checks. Anything
    # that fails it takes the slow path, which says what is wrong.
    if type(value) is list and len(value) == 6:
        event_id, origin, origin_seq, stamp, kind, body = value
        if (
            type(event_id) is str
            and 0 < len(event_id) <= MAX_NAME_CHARS
            and type(origin) is str
            and 0 < len(origin) <= MAX_NAME_CHARS
            and type(origin_seq) is int
            and 1 <= origin_seq <= MAX_SEQ
            and type(stamp) is int
            and 0 <= stamp <= MAX_HLC
            and type(kind) is str
            and 0 < len(kind) <= MAX_NAME_CHARS
            and type(body) is bytes
        ):
            return Event(0, event_id, origin, origin_seq, stamp, kind, body)
    items = _list(value, "event", 6)
    if len(items) != 6:
        raise ProtocolError("event must be [id, origin, origin_seq, hlc, kind, body]")
    body = items[5]
    if not isinstance(body, bytes):
        raise ProtocolError("event body must be bytes")
    return Event(
        seq=0,
        id=_str(items[0], "event id"),
        origin=_str(items[1], "event origin"),
        origin_seq=_int(items[2], "event origin_seq", 1, MAX_SEQ),
        hlc=_int(items[3], "event hlc", 0, MAX_HLC),
        kind=_str(items[4], "event kind"),
        body=body,
    )


def event_wire_size(event: Event) -> int:
    """About how many bytes an event takes in a frame; what batch byte bounds count."""
    return len(event.body) + len(event.id) + len(event.origin) + len(event.kind) + 24


# -- messages ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello:
    """First message of a link (and a probe while the peer seems down): who we are, what we hold."""

    TYPE: ClassVar[str] = "hello"
    node_id: str
    vector: dict[str, int] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {"node": self.node_id, "vector": vector_to_wire(self.vector)}

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Hello:
        return cls(_str(_field(wire, "node"), "node"), vector_from_wire(_field(wire, "vector")))


@dataclass(frozen=True, slots=True)
class Advert:
    """Our version vector, sent each anti-entropy round and in answer to a Hello."""

    TYPE: ClassVar[str] = "advert"
    vector: dict[str, int] = field(default_factory=dict)
    # The sender's wall clock (ms since the epoch) when it sent this, so each
    # side can see how far apart the clocks are; 0 when the sender has none.
    wall_ms: int = 0

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"vector": vector_to_wire(self.vector)}
        if self.wall_ms:
            wire["wall"] = self.wall_ms
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Advert:
        wall = wire.get("wall", 0)
        if type(wall) is not int or not 0 <= wall < 2**48:
            raise ProtocolError("advert wall clock must be milliseconds since the epoch")
        return cls(vector_from_wire(_field(wire, "vector")), wall)


@dataclass(frozen=True, slots=True)
class Request:
    """Send me the events of these ranges: at most ``max_events`` and ``max_bytes`` of them."""

    TYPE: ClassVar[str] = "request"
    request_id: int
    ranges: tuple[Range, ...]
    max_events: int
    max_bytes: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.request_id,
            "ranges": [[r.origin, r.first, r.last] for r in self.ranges],
            "max_events": self.max_events,
            "max_bytes": self.max_bytes,
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Request:
        ranges = _list(_field(wire, "ranges"), "ranges", MAX_RANGES)
        if not ranges:
            raise ProtocolError("a request names at least one range")
        return cls(
            request_id=_int(_field(wire, "id"), "request id", 0, MAX_SEQ),
            ranges=tuple(range_from_wire(r) for r in ranges),
            max_events=_int(_field(wire, "max_events"), "max_events", 1, MAX_EVENTS),
            max_bytes=_int(_field(wire, "max_bytes"), "max_bytes", 1, MAX_FRAME_BYTES),
        )


@dataclass(frozen=True, slots=True)
class Batch:
    """The answer to one Request; ``more`` says the sender stopped at a bound, not at its end."""

    TYPE: ClassVar[str] = "batch"
    request_id: int
    events: tuple[Event, ...]
    more: bool

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.request_id,
            "events": [event_to_wire(e) for e in self.events],
            "more": self.more,
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Batch:
        more = _field(wire, "more")
        if not isinstance(more, bool):
            raise ProtocolError("batch 'more' must be a boolean")
        return cls(
            request_id=_int(_field(wire, "id"), "request id", 0, MAX_SEQ),
            events=tuple(
                [event_from_wire(e) for e in _list(_field(wire, "events"), "events", MAX_EVENTS)]
            ),
            more=more,
        )


@dataclass(frozen=True, slots=True)
class Push:
    """Fresh events, sent unasked; the receiver may drop them (anti-entropy repairs)."""

    TYPE: ClassVar[str] = "push"
    events: tuple[Event, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"events": [event_to_wire(e) for e in self.events]}

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Push:
        events = _list(_field(wire, "events"), "events", MAX_EVENTS)
        return cls(tuple([event_from_wire(e) for e in events]))


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing to say, but still here."""

    TYPE: ClassVar[str] = "heartbeat"

    def to_wire(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Heartbeat:
        return cls()


@dataclass(frozen=True, slots=True)
class Error:
    """We could not use your last message. Never answered, so two peers cannot loop on errors."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message[:MAX_TEXT_CHARS]}

    @classmethod
    def from_wire(cls, wire: Mapping[str, object]) -> Error:
        return cls(
            _str(_field(wire, "code"), "error code"),
            _str(_field(wire, "message"), "error message", MAX_TEXT_CHARS, empty=True),
        )


Message = Hello | Advert | Request | Batch | Push | Heartbeat | Error

_TYPES: dict[str, type[Message]] = {
    cls.TYPE: cls for cls in (Hello, Advert, Request, Batch, Push, Heartbeat, Error)
}


def to_wire(message: Message) -> dict[str, Any]:
    """The full frame map: version, type, fields."""
    return {"v": PROTOCOL_VERSION, "t": message.TYPE, **message.to_wire()}


def from_wire(wire: object) -> Message:
    """Validate a decoded frame map and build its message (raises ProtocolError)."""
    if not isinstance(wire, dict):
        raise ProtocolError("a frame must be a msgpack map")
    kind = wire.get("t")
    cls = _TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown message type {kind!r:.40}")
    # An Error is read whatever its version, so peers that disagree on the
    # version can still tell each other why they stopped.
    if cls is not Error and wire.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"unsupported protocol version {wire.get('v')!r:.20} (we speak {PROTOCOL_VERSION})"
        )
    return cls.from_wire(wire)


def encode(message: Message) -> bytes:
    return msgpack.packb(to_wire(message), use_bin_type=True)


def decode(frame: bytes, *, max_frame_bytes: int = MAX_FRAME_BYTES) -> Message:
    """Bytes from a peer to a message; every failure is a ProtocolError."""
    if len(frame) > max_frame_bytes:
        raise FrameTooLarge(f"frame of {len(frame)} bytes exceeds {max_frame_bytes}")
    try:
        wire = msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            max_str_len=max(MAX_TEXT_CHARS, MAX_NAME_CHARS) * 4,
            max_bin_len=max_frame_bytes,
            max_array_len=MAX_EVENTS,
            max_map_len=MAX_ORIGINS,
            max_ext_len=0,
        )
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError) as exc:
        raise ProtocolError(f"undecodable frame: {exc}") from exc
    return from_wire(wire)
