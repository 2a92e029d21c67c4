from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.core.errors import NotFound, UsageError
from clare.domain.messages import (
    Message,
    MessageDelivered,
    MessageSent,
    apply_message,
    matches,
)
from clare.domain.targets import Recipient
from clare.domain.tasks import EventMeta
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

NOW = 1_800_000_000_000


def meta(n: int, origin: str = "a") -> EventMeta:
    return EventMeta(f"e{n}", n << 16, origin, n)


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    return make_core(tmp_path / "events.db")


def observe(core: WriterCore, session: str, project: str = "alpha") -> None:
    call(core, "session.observe", snapshot={"session": session, "project": project, "pid": 7})


def test_a_message_folds_its_deliveries_once_per_session() -> None:
    sent = MessageSent(message="m-1", target="all", text="hi", sent_at=1, expires_at=9)
    state = apply_message(None, sent, meta(1))
    first = MessageDelivered(message="m-1", session="s1", via="hook", at=5)
    state = apply_message(state, first, meta(2))
    state = apply_message(state, MessageDelivered(message="m-1", session="s1", via="pull"), meta(3))
    assert isinstance(state, Message)
    assert [(d.session, d.via) for d in state.deliveries] == [("s1", "hook")]
    assert state.delivered_to("s1")
    assert not state.delivered_to("s2")


def test_a_delivery_that_arrives_before_its_message_is_kept() -> None:
    early = apply_message(None, MessageDelivered(message="m-1", session="s1"), meta(2))
    assert isinstance(early, Message)
    assert early.target == ""  # a placeholder: nobody is offered it yet
    state = apply_message(early, MessageSent(message="m-1", target="all", text="hi"), meta(1))
    assert isinstance(state, Message)
    assert state.text == "hi"
    assert state.delivered_to("s1")


def test_matches_follows_the_target_and_skips_the_delivered() -> None:
    who = Recipient("s1", "mid", "laptop", "alpha", frozenset({"backend"}))
    message = Message("m-1", "project:alpha", "x", expires_at=NOW + 1)
    assert matches(message, who, NOW)
    assert not matches(message, who, NOW + 2)  # expired
    delivered = apply_message(message, MessageDelivered(message="m-1", session="s1"), meta(5))
    assert isinstance(delivered, Message)
    assert not matches(delivered, who, NOW)


def test_send_checks_its_target_and_text(core: WriterCore) -> None:
    with pytest.raises(NotFound):
        call(core, "message.send", target="project:nope", text="x", sent_at=NOW)
    with pytest.raises(UsageError):
        call(core, "message.send", target="planet:mars", text="x", sent_at=NOW)
    with pytest.raises(UsageError):
        call(core, "message.send", target="all", text="   ", sent_at=NOW)
    result = call(core, "message.send", target="all", text="hello", sent_at=NOW, ttl_ms=1000)
    message = core.cache.get("m:" + result["message"])
    assert isinstance(message, Message)
    assert (message.target, message.text, message.expires_at) == ("all", "hello", NOW + 1000)


def test_deliver_records_each_session_once(core: WriterCore) -> None:
    observe(core, "s1")
    sent = call(core, "message.send", target="session:s1", text="hello", sent_at=NOW)
    args = {"session": "s1", "messages": [sent["message"]], "via": "pull", "at": NOW}
    assert call(core, "message.deliver", **args)["delivered"] == [sent["message"]]
    again = call(core, "message.deliver", **args)
    assert again["delivered"] == []
    assert again["events"] == []
    with pytest.raises(NotFound):
        call(core, "message.deliver", session="s1", messages=["m-nothere"], at=NOW)
    with pytest.raises(UsageError):
        call(core, "message.deliver", session="s1", messages=[sent["message"]], via="pigeon")


def test_a_delivery_through_the_inbox_socket_is_recorded_as_such(core: WriterCore) -> None:
    observe(core, "s1")
    sent = call(core, "message.send", target="session:s1", text="hello", sent_at=NOW)
    args = {"session": "s1", "messages": [sent["message"]], "via": "inbox", "at": NOW}
    assert call(core, "message.deliver", **args)["delivered"] == [sent["message"]]
    message = core.cache.get("m:" + sent["message"])
    assert isinstance(message, Message)
    assert [(d.session, d.via) for d in message.deliveries] == [("s1", "inbox")]
