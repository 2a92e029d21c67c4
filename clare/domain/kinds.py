"""The kinds of entity, in one table: prefix, state type, fold, views group and row codec.

An entity id is its kind's prefix and a key: ``t-3f9a`` (a task: the prefix is
part of its id), ``p:webshop``, ``h:<machine id>``, ``g:reviewers``,
``s:<session id>``, ``m:<message id>``. Every place that needs to know what
an entity is (the writer's cache, the projector, the views, verification)
asks this table, so a new kind is one line here plus its fold and codec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clare.domain import entities, messages, rows, tasks
from clare.domain.events import DomainEvent

#: A fold: the entity's state so far (None before its first event), an event, its order.
Fold = Callable[[Any, DomainEvent, tasks.EventMeta], Any]


@dataclass(frozen=True)
class EntityKind:
    prefix: str
    #: The views table, and the name the projector's doorbell gives changed entities.
    name: str
    state_type: type
    fold: Fold
    rows: rows.RowCodec
    #: Whether the views row's key column holds the whole entity id (tasks) or its key.
    keeps_prefix: bool = False

    def entity(self, key: str) -> str:
        return key if self.keeps_prefix else self.prefix + key

    def row_key(self, entity: str) -> str:
        return entity if self.keeps_prefix else entity[len(self.prefix) :]


TASKS = EntityKind("t-", "tasks", tasks.Task, tasks.apply, rows.TASK_ROWS, keeps_prefix=True)
PROJECTS = EntityKind("p:", "projects", entities.Project, entities.apply_project, rows.PROJECT_ROWS)
HOSTS = EntityKind("h:", "hosts", entities.Host, entities.apply_host, rows.HOST_ROWS)
GROUPS = EntityKind("g:", "groups", entities.Group, entities.apply_group, rows.GROUP_ROWS)
SESSIONS = EntityKind("s:", "sessions", entities.Session, entities.apply_session, rows.SESSION_ROWS)
MESSAGES = EntityKind("m:", "messages", messages.Message, messages.apply_message, rows.MESSAGE_ROWS)

KINDS: tuple[EntityKind, ...] = (TASKS, PROJECTS, HOSTS, GROUPS, SESSIONS, MESSAGES)

# Every prefix is two characters, so the lookup is one slice and one dict get:
# the projector makes it for every event it folds.
_BY_PREFIX = {kind.prefix: kind for kind in KINDS}
_BY_STATE = {kind.state_type: kind for kind in KINDS}
assert all(len(prefix) == 2 for prefix in _BY_PREFIX)


def kind_of(entity: str) -> EntityKind | None:
    """The kind of an entity id, or None for one this version does not know."""
    return _BY_PREFIX.get(entity[:2])


def kind_of_state(state: object) -> EntityKind:
    """The kind whose fold made ``state`` (a KeyError for anything else is a bug)."""
    return _BY_STATE[type(state)]
