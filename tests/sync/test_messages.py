from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import FrameTooLarge, ProtocolError
from clare.core.events import Event
from clare.sync.messages import (
    MAX_EVENTS,
    MAX_HLC,
    MAX_NAME_CHARS,
    MAX_SEQ,
    PROTOCOL_VERSION,
    Advert,
    Batch,
    Error,
    Heartbeat,
    Hello,
    Message,
    Push,
    Request,
    decode,
    encode,
    event_from_wire,
    from_wire,
    to_wire,
)
from clare.sync.vector import Range

EVENT = Event(0, "id-1", "host-a", 7, 123 << 16, "TaskCreated", b"\x80")

EXAMPLES: list[Message] = [
    Hello("host-a", {"host-a": 3, "host-b": 0}),
    Advert({"host-b": 12}),
    Advert({"host-b": 12}, wall_ms=1_800_000_000_000),
    Request(9, (Range("host-a", 1, 5), Range("host-b", 2, 2)), 100, 4096),
    Batch(9, (EVENT,), more=True),
    Push((EVENT, EVENT)),
    Heartbeat(),
    Error("bad_batch", "you sent what I did not ask for"),
]


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: m.TYPE)
def test_every_message_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message


def test_frame_carries_version_and_type() -> None:
    wire = to_wire(Advert({"a": 1}))
    assert wire == {"v": PROTOCOL_VERSION, "t": "advert", "vector": {"a": 1}}


@pytest.mark.parametrize("wall", [-1, 2**48, "soon", 1.5, True])
def test_a_bad_advert_wall_clock_is_refused(wall: object) -> None:
    with pytest.raises(ProtocolError, match="wall clock"):
        from_wire({"v": PROTOCOL_VERSION, "t": "advert", "vector": {}, "wall": wall})


def test_local_seq_does_not_travel() -> None:
    stored = Event(41, "id-1", "host-a", 7, 5, "K", b"")
    (received,) = decode(encode(Push((stored,)))).events  # type: ignore[union-attr]
    assert received.seq == 0
    assert received.id == stored.id


def test_unknown_keys_are_ignored() -> None:
    assert from_wire({**to_wire(Heartbeat()), "later": [1, 2]}) == Heartbeat()


def test_other_versions_are_refused_except_errors() -> None:
    with pytest.raises(ProtocolError, match="version"):
        from_wire({**to_wire(Heartbeat()), "v": PROTOCOL_VERSION + 1})
    error = {**to_wire(Error("version", "speak 2")), "v": 2}
    assert from_wire(error) == Error("version", "speak 2")


def _frame(**fields: object) -> dict[str, object]:
    return {"v": PROTOCOL_VERSION, **fields}


BAD_FRAMES: list[object] = [
    [1, 2],
    _frame(),
    _frame(t="nope"),
    _frame(t="advert"),
    _frame(t="advert", vector=[1]),
    _frame(t="advert", vector={"a": -1}),
    _frame(t="advert", vector={"a": True}),
    _frame(t="advert", vector={"a": 1.5}),
    _frame(t="advert", vector={"": 1}),
    _frame(t="hello", node="x" * 500, vector={}),
    _frame(t="request", id=1, ranges=[], max_events=1, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 0, 1]], max_events=1, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 5, 4]], max_events=1, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 1]], max_events=1, max_bytes=1),
    _frame(t="request", id=-1, ranges=[["a", 1, 2]], max_events=1, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 1, 2]], max_events=0, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 1, 2]], max_events=10**9, max_bytes=1),
    _frame(t="request", id=1, ranges=[["a", 1, 2]] * 2000, max_events=1, max_bytes=1),
    _frame(t="batch", id=1, events=[], more=1),
    _frame(t="batch", id=1, events=[["i", "o", 1, 1, "k"]], more=False),
    _frame(t="batch", id=1, events=[["i", "o", 0, 1, "k", b""]], more=False),
    _frame(t="batch", id=1, events=[["i", "o", 1, -1, "k", b""]], more=False),
    _frame(t="batch", id=1, events=[["i", "o", 1, "1", "k", b""]], more=False),
    _frame(t="push", events=[["i", "o", 1, 1, "k", "not bytes"]]),
    _frame(t="push", events=[[b"i", "o", 1, 1, "k", b""]]),
    _frame(t="push", events="x"),
    _frame(t="error", code="", message=""),
]


@pytest.mark.parametrize("wire", BAD_FRAMES)
def test_malformed_frames_are_protocol_errors(wire: object) -> None:
    with pytest.raises(ProtocolError):
        from_wire(wire)
    with pytest.raises(ProtocolError):
        decode(msgpack.packb(wire, use_bin_type=True))


def test_integers_beyond_the_wire_bounds_are_refused() -> None:
    with pytest.raises(ProtocolError, match="hlc"):
        from_wire(_frame(t="push", events=[["i", "o", 1, 1 << 64, "k", b""]]))
    with pytest.raises(ProtocolError, match="origin_seq"):
        from_wire(_frame(t="push", events=[["i", "o", 1 << 63, 1, "k", b""]]))


def test_oversized_frame_is_refused_before_decoding() -> None:
    with pytest.raises(FrameTooLarge):
        decode(b"\x90" * 101, max_frame_bytes=100)


def test_too_many_events_is_refused_by_the_decoder() -> None:
    frame = msgpack.packb(
        _frame(t="push", events=[["i", "o", 1, 1, "k", b""]] * (MAX_EVENTS + 1)),
        use_bin_type=True,
    )
    with pytest.raises(ProtocolError):
        decode(frame)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_decoder(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(frame)


msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.sampled_from(["hello", "advert", "request", "batch", "push", "heartbeat", "error"]),
    st.dictionaries(
        st.sampled_from(
            [
                "node",
                "vector",
                "id",
                "ranges",
                "max_events",
                "max_bytes",
                "events",
                "more",
                "code",
                "message",
            ]
        ),
        msgpack_values,
    ),
)
def test_arbitrary_fields_never_crash_validation(kind: str, fields: dict[str, object]) -> None:
    try:
        message = from_wire({"v": PROTOCOL_VERSION, "t": kind, **fields})
    except ProtocolError:
        return
    assert decode(encode(message)) == message


_EDGES: list[object] = [
    "",
    "x",
    "x" * MAX_NAME_CHARS,
    "x" * (MAX_NAME_CHARS + 1),
    b"",
    b"\x80",
    0,
    1,
    -1,
    True,
    MAX_SEQ,
    MAX_SEQ + 1,
    MAX_HLC,
    MAX_HLC + 1,
    1.5,
    None,
]


_VALID: list[object] = ["id-1", "host-a", 7, 123 << 16, "TaskCreated", b"\x80"]


@pytest.mark.parametrize("position", range(len(_VALID)))
@pytest.mark.parametrize("edge", _EDGES)
def test_the_fast_event_check_agrees_with_the_field_by_field_one(
    position: int, edge: object
) -> None:
    # One field at its edge, the others valid. A list takes the fast path; the
    # same fields as a tuple take the slow one.
    items = [*_VALID[:position], edge, *_VALID[position + 1 :]]

    def outcome(value: object) -> Event | str:
        try:
            return event_from_wire(value)
        except ProtocolError:
            return "refused"

    assert outcome(items) == outcome(tuple(items))
    assert outcome(items[:-1]) == outcome(tuple(items[:-1])) == "refused"
