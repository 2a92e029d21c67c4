"""Applying events to the views DB: used by the projector node, rebuild and verify.

Events are applied in local arrival order (``seq``), but each entity's state is
the fold of its events in the agreed order ``(hlc, origin)``. Usually an event
sorts after everything its entity has seen and is simply folded in. When it
sorts before (it arrived late, from a peer), the entity is refolded from its
whole history in the events DB. Either way the result does not depend on the
order events arrived in, which is what makes every host show the same state.

The position (last applied ``seq``) is written in the same transaction as the
rows it produced, so a projector killed at any point resumes exactly where its
last commit ended: nothing applied twice, nothing skipped.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from typing import TYPE_CHECKING, Any

from clare.domain.fold import decode_event, fold_for, meta_of, refold
from clare.errors import ClareError
from clare.logs import get
from clare.store import eventlog, views
from clare.store.sqlite import transaction

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

    from clare.events import Event

log = get("clare.projection")

SKIPPED = "~skipped"  # the counts row for events that could not be decoded or folded


class GapError(ClareError):
    """The events given do not follow on from the views' position."""

    code = "gap"


class Projection:
    def __init__(
        self,
        views_conn: sqlite3.Connection,
        events_conn: sqlite3.Connection,
        cache_entries: int = 10_000,
    ) -> None:
        self.views = views_conn
        self.events = events_conn
        self.position = views.position(views_conn)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_max = cache_entries

    def _state(self, entity: str) -> Any:
        if entity in self._cache:
            self._cache.move_to_end(entity)
            return self._cache[entity]
        state = views.load_state(self.views, entity)
        self._remember(entity, state)
        return state

    def _remember(self, entity: str, state: Any) -> None:
        self._cache[entity] = state
        self._cache.move_to_end(entity)
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def apply(self, events: Iterable[Event]) -> dict[str, set[str]]:
        """Apply events that follow the position, in one transaction.

        Returns the changed entities grouped by kind (``tasks``, ``projects``...).
        Events at or below the position are ignored (already applied).
        """
        changed: dict[str, set[str]] = {}
        try:
            with transaction(self.views):
                position = self._apply_in_txn(events, changed)
        except BaseException:
            # The rows were rolled back: forget states that were never written.
            self._cache.clear()
            raise
        self.position = position
        return changed

    def _apply_in_txn(self, events: Iterable[Event], changed: dict[str, set[str]]) -> int:
        position = self.position
        dirty: dict[str, Any] = {}
        counts: Counter[str] = Counter()
        for event in events:
            if event.seq <= position:
                continue
            if event.seq != position + 1:
                raise GapError(f"event {event.seq} does not follow position {position}")
            position = event.seq
            counts[event.kind] += 1
            try:
                domain_event = decode_event(event)
            except ClareError as exc:
                counts[SKIPPED] += 1
                log.warning("event skipped", seq=event.seq, kind=event.kind, error=str(exc))
                continue
            entity = domain_event.entity
            fold = fold_for(entity)
            if fold is None:
                counts[SKIPPED] += 1
                continue
            # A state changed earlier in this batch may have left the cache but is
            # not in the views DB yet: the batch's own copy comes first.
            state = dirty[entity] if entity in dirty else self._state(entity)
            meta = meta_of(event)
            if state is None or meta.key < state.last_key:
                # Out of order: an event that sorts before what the entity holds, or
                # one for an entity with no state yet, whose earlier-arrived events
                # were held back waiting for it. Refold from the store, with only the
                # events up to this one: later ones are folded when their turn comes.
                state = refold(entity, eventlog.entity_events(self.events, entity, event.seq))
            else:
                state = fold(state, domain_event, meta)
            self._remember(entity, state)
            dirty[entity] = state
            changed.setdefault(_group_name(entity), set()).add(entity)
        for entity, state in dirty.items():
            views.save_state(self.views, entity, state)
        if counts:
            views.bump_counts(self.views, counts)
        views.set_position(self.views, position)
        return position

    def catch_up(self, batch: int = 5000) -> int:
        """Apply every stored event past the position; returns how many."""
        total = 0
        while True:
            events = eventlog.read_after(self.events, self.position, batch)
            if not events:
                return total
            self.apply(events)
            total += len(events)

    def rebuild(self, batch: int = 10_000, upto: int | None = None) -> int:
        """Throw the views away and fold every event again, in one transaction.

        Readers keep seeing the old views until the new ones commit.
        """
        self._cache.clear()
        applied = 0
        try:
            with transaction(self.views):
                views.clear(self.views)
                self.position = 0
                while True:
                    limit = batch if upto is None else min(batch, upto - self.position)
                    if limit <= 0:
                        break
                    events = eventlog.read_after(self.events, self.position, limit)
                    if not events:
                        break
                    self.position = self._apply_in_txn(events, {})
                    applied += len(events)
        except BaseException:
            self._cache.clear()
            self.position = views.position(self.views)
            raise
        return applied


def _group_name(entity: str) -> str:
    return {
        "t-": "tasks",
        "p:": "projects",
        "h:": "hosts",
        "g:": "groups",
        "s:": "sessions",
        "m:": "messages",
    }.get(entity[:2], "other")
