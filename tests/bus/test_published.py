from __future__ import annotations

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.bus import envelope, published
from clare.core.errors import ProtocolError
from clare.core.events import Event

EVENTS = st.lists(
    st.builds(
        Event,
        seq=st.integers(1, 2**62),
        id=st.text(min_size=1, max_size=40),
        origin=st.text(min_size=1, max_size=40),
        origin_seq=st.integers(1, 2**62),
        hlc=st.integers(1, 2**63 - 1),
        kind=st.text(min_size=1, max_size=30),
        body=st.binary(max_size=300),
    ),
    max_size=30,
)


@given(EVENTS)
def test_published_messages_carry_every_event_in_order(events: list[Event]) -> None:
    frames = list(published.messages(events))
    assert all(topic == published.TOPIC for topic, _ in frames)
    assert [e for _, frame in frames for e in published.events_in(frame)] == events


def test_a_big_commit_is_cut_into_messages_under_the_limits() -> None:
    body = b"x" * 5000
    events = [Event(i, f"id-{i}", "o", i, i, "TaskNoted", body) for i in range(1, 2501)]
    frames = list(published.messages(events))
    assert len(frames) > 2
    assert all(len(frame) <= published.MAX_BYTES + 10_000 for _, frame in frames)
    assert all(len(published.events_in(f)) <= published.MAX_EVENTS for _, f in frames)
    assert [e for _, f in frames for e in published.events_in(f)] == events
    assert list(published.messages([])) == []


def test_the_one_event_message_is_still_read() -> None:
    event = Event(3, "id", "origin", 2, 99, "TaskCreated", b"\x80")
    assert published.events_in(published.encode_event(event)) == [event]


@pytest.mark.parametrize(
    "rows",
    [
        "not a list",
        [[1, "id", "o", 1, 1, "k"]],  # a field short
        [[1, "id", "o", 1, 1, "k", "body as text"]],
        [[True, "id", "o", 1, 1, "k", b""]],  # a bool is not a seq
        [[1, 2, "o", 1, 1, "k", b""]],
    ],
)
def test_malformed_batches_are_protocol_errors(rows: object) -> None:
    frame = msgpack.packb({"v": envelope.VERSION, "t": published.BATCH, "events": rows})
    with pytest.raises(ProtocolError):
        published.events_in(frame)


def test_other_messages_are_not_events() -> None:
    with pytest.raises(ProtocolError):
        published.events_in(envelope.encode(envelope.VIEW, {"seq": 1}))
