"""The writer's view of current state, for deciding commands.

The writer must check a command against state that includes every event it
has committed, including those the projector has not reached yet, so it
cannot read the views DB. Instead it folds an entity's events on first use
(through the indexed ``entity`` column) and keeps the result, applying each
new event as it commits. An event that sorts before what an entry already
holds (it came late, from a peer) drops the entry, so the next use refolds.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from clare.domain.entities import Group, Host, Project, Session
from clare.domain.kinds import GROUPS, HOSTS, PROJECTS, SESSIONS, TASKS
from clare.domain.registry import fold_for, refold
from clare.domain.tasks import EventMeta, Task

if TYPE_CHECKING:
    from collections.abc import Callable

    from clare.core.events import Event
    from clare.domain.events import DomainEvent

_ABSENT = object()


class EntityCache:
    """A bounded cache of folded entities, implementing ``decide.StateReader``."""

    def __init__(
        self,
        load: Callable[[str], list[Event]],
        load_prefix: Callable[[str], list[str]],
        max_entries: int = 20_000,
    ) -> None:
        self._load = load
        self._load_prefix = load_prefix
        self._max = max_entries
        self._entries: OrderedDict[str, Any] = OrderedDict()

    def get(self, entity: str) -> Any:
        state = self._entries.get(entity, _ABSENT)
        if state is _ABSENT:
            state = refold(entity, self._load(entity))
            self._entries[entity] = state
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(entity)
        return state

    def applied(self, entity: str, event: DomainEvent, meta: EventMeta) -> None:
        """Keep a cached entry current after ``event`` was committed."""
        state = self._entries.get(entity, _ABSENT)
        if state is _ABSENT:
            return
        fold = fold_for(entity)
        # No state yet may mean events are held back waiting for the entity's
        # creation: refold on next use rather than fold onto nothing.
        if fold is None or state is None or meta.key < state.last_key:
            del self._entries[entity]
            return
        try:
            self._entries[entity] = fold(state, event, meta)
        except Exception:  # see fold.fold_failure: the next use refolds without it
            del self._entries[entity]

    def clear(self) -> None:
        self._entries.clear()

    # StateReader
    def task(self, task_id: str) -> Task | None:
        state = self.get(task_id) if task_id.startswith(TASKS.prefix) else None
        return state if isinstance(state, Task) else None

    def project(self, name: str) -> Project | None:
        state = self.get(PROJECTS.entity(name))
        return state if isinstance(state, Project) else None

    def session(self, session_id: str) -> Session | None:
        state = self.get(SESSIONS.entity(session_id))
        return state if isinstance(state, Session) else None

    def group(self, name: str) -> Group | None:
        state = self.get(GROUPS.entity(name))
        return state if isinstance(state, Group) else None

    def tasks_of_project(self, name: str) -> list[Task]:
        """Every task of a project, deleted ones too. A scan of every task: for the rare
        commands that change a whole project (rename, delete)."""
        found = [self.task(entity) for entity in self._load_prefix(TASKS.prefix)]
        return sorted((t for t in found if t is not None and t.project == name), key=lambda t: t.id)

    def host_by_name(self, name: str) -> Host | None:
        for entity in self._load_prefix(HOSTS.prefix):
            host = self.get(entity)
            if isinstance(host, Host) and host.name == name:
                return host
        return None
