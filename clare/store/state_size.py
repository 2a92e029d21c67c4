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


def approx_bytes(value: Any) -> int:
    """An estimate of the memory ``value`` holds, itself and what it refers to."""
    if isinstance(value, str | bytes):
        return _OBJECT + len(value)
    if isinstance(value, int | float | bool) or value is None:
        return 32
    if isinstance(value, tuple | list):
        return _OBJECT + sum(_ITEM + approx_bytes(v) for v in value)
    if isinstance(value, dict):
        return _OBJECT * 2 + sum(
            2 * _ITEM + approx_bytes(k) + approx_bytes(v) for k, v in value.items()
        )
    if dataclasses.is_dataclass(value):
        return _OBJECT + sum(
            _ITEM + approx_bytes(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    return _OBJECT
