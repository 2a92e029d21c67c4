"""Decoding event bodies: the compiled decoders must accept and refuse exactly what the
declared field types say, as a plain check of each field against its annotation would."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clare.domain.messages  # registers its event kinds
from clare.core.errors import ProtocolError
from clare.domain.events import (
    EVENT_TYPES,
    MAX_INT,
    MAX_ITEMS,
    MAX_TEXT_CHARS,
    MIN_INT,
    DomainEvent,
    ProjectCreated,
    SessionObserved,
    TaskCreated,
    TaskEdited,
    _checker,
    decode,
)

assert clare.domain.messages.MessageSent.kind in EVENT_TYPES


def reference_decode(kind: str, data: dict[str, Any]) -> DomainEvent:
    """The obvious decoder: each field checked against its annotation, then ``__init__``."""
    cls = EVENT_TYPES[kind]
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            required = f.default is dataclasses.MISSING
            if required and f.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"{kind} body lacks {f.name!r}")
            continue
        value = data[f.name]
        if not _checker(hints[f.name])(value):
            raise ProtocolError(f"{kind}.{f.name} has the wrong type")
        values[f.name] = tuple(value) if type(value) is list else value
    return cls(**values)


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([MAX_INT, MAX_INT + 1, MIN_INT, MIN_INT - 1, 2**64]),
    st.text(max_size=3),
    st.lists(st.one_of(st.text(max_size=2), st.integers(0, 2)), max_size=2),
    st.dictionaries(st.text(max_size=2), st.one_of(st.text(max_size=2), st.integers()), max_size=2),
)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(EVENT_TYPES)))
    names = [f.name for f in dataclasses.fields(EVENT_TYPES[kind])]
    body: dict[str, Any] = {}
    for name in names:
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue  # missing
        if choice == 1:
            body[name] = draw(values)  # anything
        else:
            body[name] = _typical(EVENT_TYPES[kind], name, draw)
    if draw(st.booleans()):
        body["from_a_newer_peer"] = 1
    return kind, body


def _typical(cls: type[DomainEvent], name: str, draw: st.DrawFn) -> Any:
    annotation = typing.get_type_hints(cls)[name]
    options = typing.get_args(annotation) or (annotation,)
    pick = draw(st.sampled_from(options))
    if pick is str:
        return draw(st.text(max_size=3))
    if pick is int:
        return draw(st.one_of(st.integers(-5, 5), st.sampled_from([MAX_INT, MAX_INT + 1])))
    if pick is bool:
        return draw(st.booleans())
    if typing.get_origin(pick) is tuple:
        return draw(st.lists(st.text(max_size=2), max_size=3))
    if typing.get_origin(pick) is dict:
        return draw(st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2))
    return None


@settings(max_examples=400, deadline=None)
@given(bodies())
def test_decode_agrees_with_a_plain_check_of_each_field(case: tuple[str, dict[str, Any]]) -> None:
    kind, body = case
    try:
        expected = reference_decode(kind, body)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            decode(kind, body)
        return
    got = decode(kind, body)
    assert got == expected
    assert type(got) is type(expected)
    assert got.entity == expected.entity
    assert got.to_body() == expected.to_body()


def test_every_kind_round_trips_through_its_body() -> None:
    samples = [
        ProjectCreated(project="p", description="d", paths={"m": "/src"}),
        TaskCreated(task="t-1", project="p", title="x", tags=("a", "b"), depends_on=("t-0",)),
        TaskEdited(task="t-1", title=None, priority=3, tags=()),
        SessionObserved(session="s", host="h", pid=7, status="busy", tokens_in=10),
    ]
    for event in samples:
        assert decode(event.kind, event.to_body()) == event


def test_refusals_say_which_field_is_wrong() -> None:
    with pytest.raises(ProtocolError, match="lacks 'title'"):
        decode("TaskCreated", {"task": "t-1", "project": "p"})
    with pytest.raises(ProtocolError, match=r"TaskCreated\.priority has the wrong type"):
        decode("TaskCreated", {"task": "t-1", "project": "p", "title": "x", "priority": True})
    with pytest.raises(ProtocolError, match=r"tags has the wrong type"):
        decode("TaskCreated", {"task": "t-1", "project": "p", "title": "x", "tags": ["a", 1]})
    with pytest.raises(ProtocolError, match="unknown event kind"):
        decode("NoSuchKind", {})


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("TaskCreated", "priority"),
        ("TaskEdited", "priority"),
        ("SessionObserved", "last_activity"),
        ("MessageSent", "sent_at"),
        ("MessageSent", "expires_at"),
    ],
)
def test_an_integer_sqlite_cannot_hold_is_refused(kind: str, name: str) -> None:
    """2**63 passed the type check and then crashed every write of its row to SQLite."""
    required = {
        "TaskCreated": {"task": "t-1", "project": "p", "title": "x"},
        "TaskEdited": {"task": "t-1"},
        "SessionObserved": {"session": "s", "host": "h"},
        "MessageSent": {"message": "m", "target": "all", "text": "hi"},
    }[kind]
    assert decode(kind, {**required, name: MAX_INT}) is not None
    assert decode(kind, {**required, name: MIN_INT}) is not None
    for value in (MAX_INT + 1, MIN_INT - 1, 2**64 - 1):
        with pytest.raises(ProtocolError, match=rf"{kind}\.{name} .*out of bounds"):
            decode(kind, {**required, name: value})


def test_text_and_lists_are_bounded() -> None:
    base = {"task": "t-1", "project": "p"}
    decode("TaskCreated", {**base, "title": "x" * MAX_TEXT_CHARS})
    with pytest.raises(ProtocolError, match="title"):
        decode("TaskCreated", {**base, "title": "x" * (MAX_TEXT_CHARS + 1)})
    with pytest.raises(ProtocolError, match="tags"):
        decode("TaskCreated", {**base, "title": "x", "tags": ["a"] * (MAX_ITEMS + 1)})
    paths = {str(i): "/" for i in range(MAX_ITEMS + 1)}
    with pytest.raises(ProtocolError, match="paths"):
        decode("ProjectCreated", {"project": "p", "paths": paths})


def test_a_default_made_by_a_factory_is_never_shared() -> None:
    first = decode("ProjectCreated", {"project": "a"})
    second = decode("ProjectCreated", {"project": "b"})
    assert isinstance(first, ProjectCreated)
    assert isinstance(second, ProjectCreated)
    assert first.paths == {}
    assert first.paths is not second.paths


@dataclass(frozen=True)
class _Checked(DomainEvent):
    kind: ClassVar[str] = "TestOnlyChecked"
    name: str
    entity_field: ClassVar[str] = "name"
    entity_prefix: ClassVar[str] = "x:"

    def __post_init__(self) -> None:
        if not self.name:
            raise ProtocolError("a name is needed")


def test_a_kind_with_its_own_checks_is_built_through_its_init(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(EVENT_TYPES, _Checked.kind, _Checked)
    assert decode(_Checked.kind, {"name": "n"}) == _Checked("n")
    with pytest.raises(ProtocolError, match="a name is needed"):
        decode(_Checked.kind, {"name": ""})


def test_deletion_events_decode_with_bounded_text() -> None:
    deleted = decode("TaskDeleted", {"task": "t-1", "reason": "twice"})
    assert deleted.entity == "t-1"
    assert decode("ProjectRenamed", {"project": "a", "new_name": "b"}).entity == "p:a"
    with pytest.raises(ProtocolError, match="over 2000"):
        decode("TaskDeleted", {"task": "t-1", "reason": "x" * 2001})
    with pytest.raises(ProtocolError, match="over 64"):
        decode("TaskMoved", {"task": "t-1", "project": "p" * 65})
    with pytest.raises(ProtocolError, match="wrong type"):
        decode("ProjectDeleted", {"project": 7})
