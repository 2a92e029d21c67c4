"""Folds of the entities other than tasks: projects, hosts, groups, sessions.

Like tasks, each is folded over its events in ``(hlc, origin)`` order, so the
result does not depend on arrival order. Sessions are snapshots: the newest
observation wins whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from clare.domain.events import (
    DomainEvent,
    GroupChanged,
    HostNamed,
    ProjectCreated,
    ProjectUpdated,
    SessionObserved,
)
from clare.domain.lifecycle_events import ProjectDeleted, ProjectRenamed

if TYPE_CHECKING:
    from clare.domain.tasks import EventMeta


@dataclass(frozen=True)
class Project:
    name: str
    description: str = ""
    paths: dict[str, str] = field(default_factory=dict)  # machine_id -> path
    created_at: int = 0
    updated_at: int = 0
    last_key: tuple[int, str] = (0, "")
    deleted: bool = False
    renamed_to: str = ""  # set with ``deleted`` when a rename replaced it
    review: bool = False  # a task a session finishes goes to review, not straight to done


def apply_project(project: Project | None, event: DomainEvent, meta: EventMeta) -> Project | None:
    if isinstance(event, ProjectCreated):
        if project is not None:
            # Two hosts made the same project: one project, paths merged, the
            # first description kept.
            return replace(
                project,
                paths={**event.paths, **project.paths},
                updated_at=meta.hlc,
                last_key=meta.key,
            )
        return Project(
            name=event.project,
            description=event.description,
            paths=dict(event.paths),
            created_at=meta.hlc,
            updated_at=meta.hlc,
            last_key=meta.key,
        )
    if isinstance(event, ProjectDeleted | ProjectRenamed) and project is not None:
        return replace(
            project,
            deleted=True,
            renamed_to=event.new_name if isinstance(event, ProjectRenamed) else "",
            updated_at=meta.hlc,
            last_key=meta.key,
        )
    if isinstance(event, ProjectUpdated) and project is not None:
        return replace(
            project,
            description=project.description if event.description is None else event.description,
            paths={**project.paths, **event.paths},
            review=project.review if event.review is None else event.review,
            updated_at=meta.hlc,
            last_key=meta.key,
        )
    return project


@dataclass(frozen=True)
class Host:
    machine_id: str
    name: str
    groups: tuple[str, ...] = ()
    last_key: tuple[int, str] = (0, "")


def apply_host(host: Host | None, event: DomainEvent, meta: EventMeta) -> Host | None:
    if isinstance(event, HostNamed):
        return Host(event.machine_id, event.name, event.groups, meta.key)
    return host


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...] = ()
    removed: bool = False
    last_key: tuple[int, str] = (0, "")


def apply_group(group: Group | None, event: DomainEvent, meta: EventMeta) -> Group | None:
    if isinstance(event, GroupChanged):
        return Group(event.group, event.members, event.removed, meta.key)
    return group


@dataclass(frozen=True)
class Session:
    snapshot: SessionObserved
    last_key: tuple[int, str] = (0, "")


def apply_session(session: Session | None, event: DomainEvent, meta: EventMeta) -> Session | None:
    if isinstance(event, SessionObserved):
        return Session(event, meta.key)
    return session
