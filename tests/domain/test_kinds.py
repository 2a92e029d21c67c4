"""One table of entity kinds: every event names an entity of a kind the table knows."""

from __future__ import annotations

from clare.domain import kinds, registry
from clare.domain.events import EVENT_TYPES


def test_every_event_type_concerns_a_known_kind() -> None:
    assert registry.KINDS is kinds.KINDS
    for kind_name, cls in EVENT_TYPES.items():
        # Task events name the task by its id, which carries the task prefix itself.
        prefix = cls.entity_prefix or kinds.TASKS.prefix
        assert kinds.kind_of(prefix + "x") is not None, kind_name


def test_prefixes_and_names_are_unique() -> None:
    assert len({k.prefix for k in kinds.KINDS}) == len(kinds.KINDS)
    assert len({k.name for k in kinds.KINDS}) == len(kinds.KINDS)
    assert kinds.kind_of("zz-unknown") is None
