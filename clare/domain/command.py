"""Typed commands: what a client asks the writer, as a frozen dataclass per op.

A client builds one (``TaskAdd(project="shop", title="login page")``) and
sends ``to_wire()``: the op name and a plain map, the same from the CLI, the
page, the hooks and the nodes. The writer rebuilds it with ``from_wire``,
which checks every field against its declared type and bounds before a
decider sees it: a wrong value there is the client's fault (``UsageError``),
said in one line that names the field.

Bounds ride on the annotations (``Annotated[str, MaxLen(64)]``), so the type
a caller's editor shows and the check the writer makes are the same line.
Light to import: the CLI and the hook build commands on every start.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self, dataclass_transform

from clare.core.errors import UsageError
from clare.core.record import Record
from clare.domain.states import MAX_PRIORITY

#: Text a command may carry unless its field says less.
MAX_TEXT = 64 * 1024
#: The most entries a list argument may hold.
MAX_LIST = 100
#: Integers a command may carry unless its field says otherwise (priorities).
DEFAULT_BOUND = MAX_PRIORITY


class MaxLen:
    """The most characters a text field (or each entry of a list field) may hold."""

    __slots__ = ("chars",)

    def __init__(self, chars: int) -> None:
        self.chars = chars


class Bound:
    """A whole-number field must lie within ``-limit`` to ``limit``."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        self.limit = limit


@dataclass_transform(kw_only_default=True, frozen_default=True)
class Command(Record):
    """A frozen record of keyword fields, declared like a dataclass (see ``clare.core.record``)."""

    op: ClassVar[str] = ""

    def to_wire(self) -> tuple[str, dict[str, Any]]:
        """The op and its arguments as plain data; a None field is left out (not given)."""
        args: dict[str, Any] = {}
        for name in self._fields:
            value = getattr(self, name)
            if value is not None:
                args[name] = list(value) if isinstance(value, tuple) else value
        return self.op, args

    @classmethod
    def from_wire(cls, args: object) -> Self:
        """The command from a client's arguments, every field checked (``UsageError``)."""
        if not isinstance(args, Mapping):
            raise UsageError(f"{cls.op} takes a map of arguments")
        return cls(**{name: parse(args) for name, parse in _parsers(cls)})


# --- field parsers, built once per command class from its annotations --------------------

Parser = Callable[[Mapping[str, Any]], Any]
_MISSING: Any = object()
_PARSERS: dict[type[Command], tuple[tuple[str, Parser], ...]] = {}


def _parsers(cls: type[Command]) -> tuple[tuple[str, Parser], ...]:
    parsers = _PARSERS.get(cls)
    if parsers is None:
        hints = typing.get_type_hints(cls, include_extras=True)
        parsers = _PARSERS[cls] = tuple(
            (name, _parser(name, hints[name], cls._defaults.get(name, _MISSING)))
            for name in cls._fields
        )
    return parsers


def _parser(name: str, hint: Any, default: Any) -> Parser:
    limits: list[object] = []
    if typing.get_origin(hint) is typing.Annotated:
        hint, *limits = typing.get_args(hint)
    max_len = next((m.chars for m in limits if isinstance(m, MaxLen)), MAX_TEXT)
    bound = next((m.limit for m in limits if isinstance(m, Bound)), DEFAULT_BOUND)
    optional = False
    if isinstance(hint, types.UnionType) and type(None) in hint.__args__:
        optional = True
        (hint,) = (a for a in hint.__args__ if a is not type(None))
    check = _checker(name, hint, max_len, bound)

    def parse(args: Mapping[str, Any]) -> Any:
        value = args.get(name)
        if value is None:
            if optional:
                return None
            if default is _MISSING:
                raise UsageError(f"{name} is required")
            return default
        return check(value)

    return parse


def _checker(name: str, hint: Any, max_len: int, bound: int) -> Callable[[Any], Any]:
    if hint is str:
        return lambda value: check_text(name, value, max_len)
    if hint is int:
        return lambda value: check_number(name, value, bound)
    if hint is bool:
        return lambda value: _flag(name, value)
    if typing.get_origin(hint) is tuple:
        return lambda value: _names_list(name, value, max_len)
    if typing.get_origin(hint) is dict:
        return lambda value: _map(name, value)
    raise TypeError(f"command field {name}: no check for {hint!r}")  # a bug of this module's


def check_text(name: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text")
    if len(value) > max_len:
        raise UsageError(f"{name} is {len(value)} characters long, over the limit of {max_len}")
    return value


def check_number(name: str, value: Any, bound: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{name} must be a whole number")
    if not -bound <= value <= bound:
        raise UsageError(f"{name} must be between {-bound} and {bound}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{name} must be true or false")
    return value


def _names_list(name: str, value: Any, max_item: int) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{name} must be a list of text")
    if len(value) > MAX_LIST:
        raise UsageError(f"{name} has {len(value)} entries, over the limit of {MAX_LIST}")
    for item in value:
        if not item or len(item) > max_item:
            raise UsageError(f"{name} entries must be 1 to {max_item} characters long")
    return tuple(dict.fromkeys(value))  # keep order, drop repeats


def _map(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{name} must be a map")
    return value
