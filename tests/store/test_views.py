"""Entity states as rows: what is saved loads back equal, and old views are redone."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from clare.domain import kinds
from clare.domain.entities import Group, Host, Project, Session
from clare.domain.events import SessionObserved
from clare.domain.messages import Delivery, Message
from clare.domain.tasks import Conflict, Task
from clare.store import schema, views
from clare.store.sqlite import migrate

if TYPE_CHECKING:
    from pathlib import Path


def _task(task_id: str, conflicts: tuple[Conflict, ...] = ()) -> Task:
    return Task(
        id=task_id, project="alpha", title="t", body="b", priority=2, tags=("x",),
        depends_on=("t-0",), state="review", assignee_kind="session", assignee="s1",
        created_at=5, updated_at=9, notes=3, last_key=(9, "h"), state_event_id="e2",
        assignee_event_id="e3", created_event_id="e1", conflicts=conflicts,
    )  # fmt: skip


def test_states_saved_together_load_back_equal(tmp_path: Path) -> None:
    conn = views.open_views_db(tmp_path / "v.db")
    conflict = Conflict("e4", "e2", "state", "raced", applied=True, hlc=8)
    snapshot = SessionObserved(session="s1", host="m1", pid=7, status="busy", title="x")
    states = {
        "t-1": _task("t-1", (conflict,)),
        "t-2": _task("t-2"),
        "p:alpha": Project("alpha", "d", {"m1": "/src"}, 1, 2, (2, "h")),
        "h:m1": Host("m1", "laptop", ("g",), (3, "h")),
        "g:g": Group("g", ("host:laptop",), False, (4, "h")),
        "s:s1": Session(snapshot, (6, "h")),
        "m:m1": Message("m1", "all", "hi", "me", 1, 2, 3, (Delivery("s1", "hook", 4),), (7, "h")),
        "t-3": None,  # held back: no row
    }
    views.save_states(conn, states.values())
    for entity, state in states.items():
        assert views.load_state(conn, entity) == state
    # Saving again replaces rows whole: a conflict that is gone leaves no row behind.
    views.save_states(conn, [_task("t-1"), Message("m1", "all", "hi", last_key=(8, "h"))])
    assert views.load_state(conn, "t-1") == _task("t-1")
    assert conn.execute("SELECT COUNT(*) FROM conflicts").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 0


def test_held_back_entities_are_stored_as_a_set(tmp_path: Path) -> None:
    conn = views.open_views_db(tmp_path / "v.db")
    views.update_held_back(conn, ["t-1", "m:x"], [])
    views.update_held_back(conn, ["t-2", "t-1"], ["m:x", "t-9"])
    assert views.held_back(conn) == {"t-1", "t-2"}
    views.clear(conn)
    assert views.held_back(conn) == set()


def test_views_from_before_the_held_back_table_are_projected_again(tmp_path: Path) -> None:
    path = tmp_path / "v.db"
    old = sqlite3.connect(path, isolation_level=None)
    migrate(old, schema.VIEWS_MIGRATIONS[:2], "views")
    # A task row as version 2 wrote it (the columns of today's rows came later).
    old.execute(
        "INSERT INTO tasks VALUES "
        "('t-1', 'p', 't', '', 0, '[]', '[]', 'todo', '', '', 1, 1, 0, x'80')"
    )
    old.execute("UPDATE position SET seq = 42")
    old.close()
    conn = views.open_views_db(path)
    assert views.position(conn) == 0
    assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0
    assert views.held_back(conn) == set()


def test_every_kind_has_a_table_its_rows_fit(tmp_path: Path) -> None:
    """The kinds table and the schema agree: a codec's row is as wide as its table."""
    conn = views.open_views_db(tmp_path / "v.db")
    samples = {
        kinds.TASKS: _task("t-1"),
        kinds.PROJECTS: Project("alpha"),
        kinds.HOSTS: Host("m1", "laptop", (), (1, "h")),
        kinds.GROUPS: Group("g", (), False, (1, "h")),
        kinds.SESSIONS: Session(SessionObserved(session="s1", host="m1"), (1, "h")),
        kinds.MESSAGES: Message("m1", "all", "hi", deliveries=(Delivery("s1", "hook", 4),)),
    }
    assert set(samples) == set(kinds.KINDS)
    for kind, state in samples.items():
        assert kinds.kind_of_state(state) is kind
        assert kinds.kind_of(kind.entity(kind.rows.key(state))) is kind
        width = len(conn.execute(f"PRAGMA table_info({kind.rows.table})").fetchall())
        assert len(kind.rows.to_row(state)) == width, kind.name
        for child in kind.rows.children:
            child_width = len(conn.execute(f"PRAGMA table_info({child.table})").fetchall())
            assert all(len(row) == child_width for row in child.rows(state)), child.table
