"""Typed commands: what a client builds is what the writer rebuilds, checked field by field."""

from __future__ import annotations

import types
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import UsageError
from clare.domain.commands import (
    COMMANDS,
    MessageSend,
    SessionObserve,
    TaskAdd,
    TaskState,
    TaskUpdate,
)

_text = st.text(max_size=40)
_names = st.lists(st.text(min_size=1, max_size=20), max_size=5, unique=True).map(tuple)


@given(
    title=_text,
    body=_text,
    priority=st.integers(-1000, 1000),
    tags=_names,
    depends_on=_names,
)
def test_a_command_survives_the_wire(
    title: str, body: str, priority: int, tags: tuple[str, ...], depends_on: tuple[str, ...]
) -> None:
    sent = TaskAdd(
        project="shop", title=title, body=body, priority=priority, tags=tags, depends_on=depends_on
    )
    op, args = sent.to_wire()
    assert op == "task.add"
    assert COMMANDS[op].from_wire(args) == sent


def test_none_means_not_given() -> None:
    _op, args = TaskUpdate(task="t-1", title="new").to_wire()
    assert args == {"task": "t-1", "title": "new", "author": ""}
    assert TaskUpdate.from_wire(args) == TaskUpdate(task="t-1", title="new")
    # A list given empty clears; a list not given leaves it be.
    assert TaskUpdate.from_wire({"task": "t-1", "tags": []}).tags == ()
    assert TaskUpdate.from_wire({"task": "t-1"}).tags is None


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        (TaskAdd, {"project": "p"}, "title is required"),
        (TaskAdd, {"project": "p", "title": 5}, "title must be text"),
        (TaskAdd, {"project": "p", "title": "x" * 301}, "title is 301 characters long"),
        (TaskAdd, {"project": "p", "title": "x", "priority": True}, "priority must be a whole"),
        (TaskAdd, {"project": "p", "title": "x", "priority": 2**70}, "priority must be between"),
        (TaskAdd, {"project": "p", "title": "x", "tags": "a"}, "tags must be a list of text"),
        (TaskAdd, {"project": "p", "title": "x", "tags": [""]}, "tags entries must be 1 to 64"),
        (TaskAdd, {"project": "p", "title": "x", "tags": ["a"] * 101}, "tags has 101 entries"),
        (TaskState, {"task": "t-1", "state": "done", "force": "y"}, "force must be true or"),
        (SessionObserve, {"snapshot": []}, "snapshot must be a map"),
        (MessageSend, {"text": "hi", "sent_at": 1, "ttl_ms": 10**12}, "ttl_ms must be between"),
    ],
)  # fmt: skip
def test_a_bad_field_is_the_clients_fault_named_in_one_line(
    command: type, args: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        command.from_wire(args)


def test_not_a_map_is_refused() -> None:
    with pytest.raises(UsageError, match=r"task\.add takes a map"):
        TaskAdd.from_wire(["x"])


def test_commands_are_frozen_records() -> None:
    command = TaskAdd(project="p", title="x")
    with pytest.raises(AttributeError):
        command.title = "y"  # type: ignore[misc]
    assert command == TaskAdd(project="p", title="x") != TaskAdd(project="p", title="y")
    assert hash(command) == hash(TaskAdd(project="p", title="x"))
    assert repr(command).startswith("TaskAdd(project='p', title='x'")
    with pytest.raises(TypeError, match="needs title"):
        TaskAdd(project="p")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no field colour"):
        TaskAdd(project="p", title="x", colour="red")  # type: ignore[call-arg]


def _strategy(hint: object) -> st.SearchStrategy[object]:
    """Values a field of type ``hint`` takes, within its declared bounds."""
    from clare.domain.command import DEFAULT_BOUND, Bound, MaxLen

    limits: tuple[object, ...] = ()
    if typing.get_origin(hint) is typing.Annotated:
        hint, *rest = typing.get_args(hint)
        limits = tuple(rest)
    max_len = min([m.chars for m in limits if isinstance(m, MaxLen)] + [30])
    bound = next((b.limit for b in limits if isinstance(b, Bound)), DEFAULT_BOUND)
    if isinstance(hint, types.UnionType):
        (inner,) = (a for a in hint.__args__ if a is not type(None))
        return st.none() | _strategy(typing.Annotated[inner, *limits] if limits else inner)
    if hint is str:
        return st.text(max_size=max_len)
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-bound, bound)
    if typing.get_origin(hint) is tuple:
        item = st.text(min_size=1, max_size=max_len)
        return st.lists(item, max_size=4, unique=True).map(tuple)
    if typing.get_origin(hint) is dict:
        return st.dictionaries(st.text(max_size=8), st.integers(0, 9), max_size=3)
    raise AssertionError(f"no strategy for {hint!r}")


@pytest.mark.parametrize("op", sorted(COMMANDS))
@given(data=st.data())
def test_every_command_survives_the_wire(op: str, data: st.DataObject) -> None:
    command_type = COMMANDS[op]
    hints = typing.get_type_hints(command_type, include_extras=True)
    values = {name: data.draw(_strategy(hints[name]), label=name) for name in command_type._fields}
    sent = command_type(**values)
    wire_op, args = sent.to_wire()
    assert wire_op == op
    assert COMMANDS[op].from_wire(args) == sent
