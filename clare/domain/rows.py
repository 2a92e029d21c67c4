"""Each entity state's row form in the views DB, as pure functions. No SQL here.

A ``RowCodec`` says which views table holds a kind's states, which column is
its key, how a state becomes that table's row and back, and which child tables
hold its lists (a task's conflicts, a message's deliveries). The store turns
that into SQL once (``clare.store.views``); the column order must match
``clare.store.schema``, which a test checks for every kind.

Rows keep what the CLI and the web page query as columns, and the rest of the
fold state (order keys, event ids, conflicts) in a msgpack ``fold`` blob, so
the projector can pick a fold up where it left off after a restart.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import msgpack

from clare.domain.entities import Group, Host, Project, Session
from clare.domain.events import SessionObserved, decode
from clare.domain.messages import Delivery, Message
from clare.domain.tasks import Conflict, Task

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Row = tuple[Any, ...]


@dataclass(frozen=True)
class ChildRows:
    """Rows of a list a state holds, kept in a table of their own (rewritten whole)."""

    table: str
    parent_column: str
    rows: Callable[[Any], list[Row]]
    #: Whether the state is rebuilt from these rows (else they exist for queries only).
    loaded: bool = False


@dataclass(frozen=True)
class RowCodec:
    table: str
    key_column: str
    to_row: Callable[[Any], Row]
    #: The state from its row and its children's rows (by child table).
    from_row: Callable[[Row, Mapping[str, list[Row]]], Any]
    #: The value of ``key_column`` (and of each child's parent column) for a state.
    key: Callable[[Any], str]
    children: tuple[ChildRows, ...] = ()


# --- tasks --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    # Tags and dependencies repeat from task to task (most have none), and the
    # projector writes a task's row for every change: the JSON is made once.
    return json.dumps(list(items))


def task_row(task: Task) -> Row:
    fold = msgpack.packb(
        {
            "last_key": list(task.last_key),
            "state_event_id": task.state_event_id,
            "assignee_event_id": task.assignee_event_id,
            "created_event_id": task.created_event_id,
            "title_event_id": task.title_event_id,
            "conflicts": [list(asdict(c).values()) for c in task.conflicts],
        },
        use_bin_type=True,
    )
    return (
        task.id, task.project, task.title, task.body, task.priority,
        _json_list(task.tags), _json_list(task.depends_on), task.state,
        task.assignee_kind, task.assignee, task.created_at, task.updated_at, task.notes, fold,
        int(task.deleted),
    )  # fmt: skip


def task_from_row(row: Row, _children: Mapping[str, list[Row]]) -> Task:
    (
        task_id, project, title, body, priority, tags, depends_on, state,
        assignee_kind, assignee, created_at, updated_at, notes, fold, deleted,
    ) = row  # fmt: skip
    extra = msgpack.unpackb(fold, raw=False)
    return Task(
        id=task_id,
        project=project,
        title=title,
        body=body,
        priority=priority,
        tags=tuple(json.loads(tags)),
        depends_on=tuple(json.loads(depends_on)),
        state=state,
        assignee_kind=assignee_kind,
        assignee=assignee,
        created_at=created_at,
        updated_at=updated_at,
        notes=notes,
        last_key=(extra["last_key"][0], extra["last_key"][1]),
        state_event_id=extra["state_event_id"],
        assignee_event_id=extra["assignee_event_id"],
        created_event_id=extra["created_event_id"],
        title_event_id=extra.get("title_event_id", ""),  # folds saved before it existed
        deleted=bool(deleted),
        conflicts=tuple(Conflict(*c) for c in extra["conflicts"]),
    )


def _conflict_rows(task: Task) -> list[Row]:
    # Queried by ``clare task show``; the fold keeps its own copy in the blob.
    return [
        (c.event_id, task.id, c.winner_event_id, c.field, c.description, int(c.applied), c.hlc)
        for c in task.conflicts
    ]


TASK_ROWS = RowCodec(
    table="tasks",
    key_column="id",
    to_row=task_row,
    from_row=task_from_row,
    key=lambda task: task.id,
    children=(ChildRows("conflicts", "task", _conflict_rows),),
)


# --- projects, hosts, groups -------------------------------------------------------------


def _project_row(state: Project) -> Row:
    return (
        state.name, state.description, json.dumps(state.paths, sort_keys=True),
        state.created_at, state.updated_at, *state.last_key, int(state.deleted), state.renamed_to,
    )  # fmt: skip


def _project_from_row(row: Row, _children: Mapping[str, list[Row]]) -> Project:
    name, description, paths, created_at, updated_at, last_hlc, last_origin, deleted, renamed = row
    return Project(
        name, description, json.loads(paths), created_at, updated_at, (last_hlc, last_origin),
        bool(deleted), renamed,
    )  # fmt: skip


PROJECT_ROWS = RowCodec(
    table="projects",
    key_column="name",
    to_row=_project_row,
    from_row=_project_from_row,
    key=lambda project: project.name,
)

HOST_ROWS = RowCodec(
    table="hosts",
    key_column="machine_id",
    to_row=lambda h: (h.machine_id, h.name, json.dumps(h.groups), *h.last_key),
    from_row=lambda r, _c: Host(r[0], r[1], tuple(json.loads(r[2])), (r[3], r[4])),
    key=lambda host: host.machine_id,
)

GROUP_ROWS = RowCodec(
    table="groups_",
    key_column="name",
    to_row=lambda g: (g.name, json.dumps(g.members), int(g.removed), *g.last_key),
    from_row=lambda r, _c: Group(r[0], tuple(json.loads(r[1])), bool(r[2]), (r[3], r[4])),
    key=lambda group: group.name,
)


# --- sessions ------------------------------------------------------------------------------


def _session_row(state: Session) -> Row:
    snap = state.snapshot
    return (
        snap.session, snap.host, snap.status, snap.project, snap.last_activity,
        json.dumps(snap.to_body(), sort_keys=True), *state.last_key,
    )  # fmt: skip


def _session_from_row(row: Row, _children: Mapping[str, list[Row]]) -> Session:
    snapshot = decode(SessionObserved.kind, json.loads(row[5]))
    assert isinstance(snapshot, SessionObserved)
    return Session(snapshot, (row[6], row[7]))


SESSION_ROWS = RowCodec(
    table="sessions",
    key_column="id",
    to_row=_session_row,
    from_row=_session_from_row,
    key=lambda session: session.snapshot.session,
)


# --- messages ------------------------------------------------------------------------------


def _message_row(m: Message) -> Row:
    return (
        m.id, m.target, m.text, m.author, m.sent_at, m.expires_at, m.sent_hlc, *m.last_key,
    )  # fmt: skip


def _message_from_row(row: Row, children: Mapping[str, list[Row]]) -> Message:
    message_id, target, text, author, sent_at, expires_at, sent_hlc, last_hlc, last_origin = row
    found = sorted(children.get("deliveries", ()), key=lambda d: (d[3], d[1]))  # at, session
    return Message(
        message_id, target, text, author, sent_at, expires_at, sent_hlc,
        tuple(Delivery(d[1], d[2], d[3]) for d in found), (last_hlc, last_origin),
    )  # fmt: skip


MESSAGE_ROWS = RowCodec(
    table="messages",
    key_column="id",
    to_row=_message_row,
    from_row=_message_from_row,
    key=lambda message: message.id,
    children=(
        ChildRows(
            "deliveries",
            "message",
            lambda m: [(m.id, d.session, d.via, d.at) for d in m.deliveries],
            loaded=True,
        ),
    ),
)
