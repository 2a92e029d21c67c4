"""Folding stored events into entity states, for any kind of entity.

An entity id's prefix says which fold applies (``clare.domain.kinds``). Events
must be given in the agreed order ``(hlc, origin)``; ``refold`` sorts them first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgpack

from clare.core.errors import ProtocolError
from clare.domain import tasks
from clare.domain.events import DomainEvent, decode
from clare.domain.kinds import Fold, kind_of

if TYPE_CHECKING:
    from clare.core.events import Event


def fold_for(entity: str) -> Fold | None:
    kind = kind_of(entity)
    return None if kind is None else kind.fold


def decode_event(event: Event) -> DomainEvent:
    """The typed domain event inside a stored one (ProtocolError if malformed)."""
    return decode_body(event.id, event.kind, event.body)


def decode_body(event_id: str, kind: str, body: bytes) -> DomainEvent:
    """The typed domain event of a stored row's kind and body (ProtocolError if malformed)."""
    try:
        data = msgpack.unpackb(body, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:  # not msgpack
        raise ProtocolError(f"event {event_id} has an undecodable body: {exc}") from exc
    if type(data) is not dict:
        raise ProtocolError(f"event {event_id} has an undecodable body: not a map")
    return decode(kind, data)


def meta_of(event: Event) -> tasks.EventMeta:
    return tasks.EventMeta(event.id, event.hlc, event.origin, event.seq)


#: Told of each event a refold sets aside, with why.
OnSetAside = Callable[["Event", str], None]


def refold(entity: str, events: Iterable[Event], on_set_aside: OnSetAside | None = None) -> Any:
    """The entity's state from all its events.

    Malformed ones are skipped, and so is one its fold fails on (see
    ``fold_safely``); ``on_set_aside`` is told of the latter.
    """
    fold = fold_for(entity)
    if fold is None:
        return None
    state: Any = None
    for event in sorted(events, key=lambda e: e.order_key):
        try:
            domain_event = decode_event(event)
        except ProtocolError:
            continue
        try:
            state = fold(state, domain_event, meta_of(event))
        except Exception as exc:  # a bug of the fold's, on data a peer made; see fold_safely
            if on_set_aside is not None:
                on_set_aside(event, fold_failure(exc))
    return state


def fold_failure(exc: Exception) -> str:
    """Why an event was set aside when its fold raised ``exc``.

    Decoding bounds every field, so a fold should never raise; one that does has
    a bug that a peer's data found. Invariant 10 says bad input never kills a
    node: the event is set aside (stored, counted, shown) and the fold goes on
    without it, as it would for an undecodable one.
    """
    return f"its fold failed: {type(exc).__name__}: {exc}"[:500]
