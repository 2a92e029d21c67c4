from __future__ import annotations

import contextlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.bus import envelope, published, rpc
from clare.core.errors import FrameTooLarge, NotFound, ProtocolError
from clare.core.events import Event

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20,
)


@given(st.dictionaries(st.text().filter(lambda k: k not in ("v", "t")), values, max_size=8))
def test_round_trip(fields: dict[str, object]) -> None:
    decoded = envelope.decode(envelope.encode("cmd", fields))
    assert decoded == {"v": envelope.VERSION, "t": "cmd", **fields}


@given(st.binary(max_size=300))
def test_garbage_is_a_protocol_error_never_a_crash(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        envelope.decode(frame)


def test_oversized_frames_are_refused() -> None:
    with pytest.raises(FrameTooLarge):
        envelope.decode(b"\x00" * (envelope.MAX_FRAME_BYTES + 1))
    with pytest.raises(FrameTooLarge):
        envelope.encode("cmd", {"blob": b"x" * envelope.MAX_FRAME_BYTES})


def test_deep_nesting_is_refused() -> None:
    deep = b"\x91" * 100_000 + b"\xc0"  # a list inside a list ... 100,000 deep
    with pytest.raises(ProtocolError):
        envelope.decode(deep)


@pytest.mark.parametrize(
    "frame",
    [
        msgpack.packb([1, 2]),
        msgpack.packb({"v": 99, "t": "cmd"}),
        msgpack.packb({"v": 1}),
        msgpack.packb({"v": 1, "t": "cmd"}) + b"extra",
        b"\xa3\xff\xfe\xfd",  # invalid UTF-8 in a str
    ],
)
def test_malformed_envelopes(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        envelope.decode(frame)


def test_event_round_trip() -> None:
    event = Event(7, "id-1", "origin", 3, 12345, "TaskCreated", b"\x80")
    assert published.decode_event(envelope.decode(published.encode_event(event))) == event


def test_request_and_reply_round_trip() -> None:
    request = rpc.Request.new("task.add", {"title": "x"})
    assert rpc.parse_request(request.encode()) == request
    assert rpc.parse_reply(rpc.encode_ok(request.id, {"a": 1})) == (request.id, {"a": 1})
    reply_id, error = rpc.parse_reply(rpc.encode_error(request.id, NotFound("no task t-1")))
    assert reply_id == request.id
    assert isinstance(error, NotFound)
    assert str(error) == "no task t-1"


@pytest.mark.parametrize(
    "fields",
    [
        {"id": 5, "op": "x"},
        {"id": "", "op": "x"},
        {"id": "a", "op": 3},
        {"id": "a", "op": "x", "args": []},
    ],
)
def test_bad_requests_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        rpc.parse_request(envelope.encode("cmd", fields))
