"""About how many bytes an entity state holds, to bound the projector's caches by memory.

Counting entries alone let a cache of 10,000 states grow to 603 MB once tasks
carried large bodies. The estimate walks a state's fields: text and bytes count
their length, containers and objects a fixed overhead each (CPython's, roughly).
It need not be exact, only proportional, and it must be cheap: it runs for each
state the projector writes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

_OBJECT = 56  # an object's header, its slots or dict, near enough
_ITEM = 8  # a pointer per field or item
_SCALAR = 32  # an int, a float, a bool, None

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # ``dataclasses.fields`` filters the class's fields on every call: most of the cost.
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def approx_bytes(value: Any) -> int:
    """An estimate of the memory ``value`` holds, itself and what it refers to."""
    kind = type(value)
    if kind is str or kind is bytes:
        return _OBJECT + len(value)
    if kind is tuple or kind is list:
        return _OBJECT + sum(_ITEM + approx_bytes(v) for v in value)
    if kind is dict:
        return _OBJECT * 2 + sum(
            2 * _ITEM + approx_bytes(k) + approx_bytes(v) for k, v in value.items()
        )
    if dataclasses.is_dataclass(value):
        # Inline for the common fields (text, numbers): a call per field doubled the cost.
        size = _OBJECT
        for name in _field_names(kind):
            field = getattr(value, name)
            field_kind = type(field)
            if field_kind is str:
                size += _ITEM + _OBJECT + len(field)
            elif field_kind is int or field_kind is bool or field is None:
                size += _ITEM + _SCALAR
            else:
                size += _ITEM + approx_bytes(field)
        return size
    return _SCALAR if kind is int or kind is bool or kind is float or value is None else _OBJECT
