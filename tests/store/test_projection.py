"""The projection's two promises, tested over random histories:

* incremental projection, interrupted anywhere, equals a rebuild from events;
* hosts holding the same events show the same views, whatever order the
  events arrived in (invariant 9).
"""

from __future__ import annotations

import contextlib
import gc
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clare.core.errors import ClareError
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog, views
from clare.store.maintenance import compare
from clare.store.projection import GapError, Projection
from tests.helpers import Clock, call, make_core

if TYPE_CHECKING:
    import sqlite3

    from clare.nodes.writer_core import WriterCore

HOSTS = ("00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b")
PROJECTS = ("alpha", "beta")
STATES = ("todo", "in_progress", "blocked", "review", "done", "cancelled")

step = st.tuples(
    st.integers(0, 1),  # host
    st.sampled_from(["project", "task", "state", "assign", "unassign", "note", "edit", "sync"]),
    st.integers(0, 1000),  # a random pick
)


def _task_ids(core: WriterCore) -> list[str]:
    return sorted(e for e in eventlog.entities_with_prefix(core.conn, "t-"))


def _run(core: WriterCore, action: str, pick: int) -> None:
    tasks = _task_ids(core)
    task = tasks[pick % len(tasks)] if tasks else None
    args: dict[str, Any]
    if action == "project":
        op, args = "project.add", {"name": PROJECTS[pick % 2]}
    elif action == "task" or task is None:
        deps = [tasks[pick % len(tasks)]] if tasks and pick % 3 == 0 else []
        op, args = (
            "task.add",
            {"project": PROJECTS[pick % 2], "title": f"t{pick}", "depends_on": deps},
        )
    elif action == "state":
        op, args = "task.state", {"task": task, "state": STATES[pick % 6], "force": True}
    elif action == "assign":
        op, args = (
            "task.assign",
            {"task": task, "assignee_kind": "host", "assignee": f"h{pick % 2}"},
        )
    elif action == "unassign":
        op, args = "task.unassign", {"task": task}
    elif action == "note":
        op, args = "task.note", {"task": task, "text": f"n{pick}"}
    else:
        op, args = "task.update", {"task": task, "title": f"e{pick}", "priority": pick % 5}
    with contextlib.suppress(ClareError):  # refused commands belong to a realistic history
        call(core, op, **args)


def _sync(source: WriterCore, target: WriterCore, rng: random.Random) -> None:
    events = [remote_event_wire(e) for e in eventlog.read_after(source.conn, 0, 100_000)]
    rng.shuffle(events)  # arrival order differs from creation order
    call(target, "ingest", events=events)


def _project(core: WriterCore, path: Path, rng: random.Random) -> sqlite3.Connection:
    """Project incrementally in random batches, 'crashing' the projector at random."""
    conn = views.open_views_db(path)
    projection = Projection(conn, core.conn)
    while True:
        events = eventlog.read_after(core.conn, projection.position, rng.randint(1, 7))
        if not events:
            return conn
        projection.apply(events)
        if rng.random() < 0.3:
            projection = Projection(conn, core.conn)  # restart: state comes from the DB


def _rebuilt(core: WriterCore, path: Path, batch: int = 1000) -> sqlite3.Connection:
    """A rebuild: one transaction, its rows read ``batch`` at a time."""
    conn = views.open_views_db(path)
    Projection(conn, core.conn).rebuild(batch=batch)
    return conn


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step, min_size=1, max_size=40), st.integers(0, 2**32))
def test_projection_equals_rebuild_and_hosts_converge(
    steps: list[tuple[int, str, int]], seed: int
) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="clare-proj-") as tmp:
        root = Path(tmp)
        # Host b's clock runs 40 ms behind a's: concurrent edits interleave in hlc order.
        cores = [
            make_core(root / "a.db", HOSTS[0], Clock()),
            make_core(root / "b.db", HOSTS[1], Clock(1_700_000_000_000 - 40)),
        ]
        for host in (0, 1):
            call(cores[host], "host.name", name=f"h{host}")
        for host, action, pick in steps:
            if action == "sync":
                _sync(cores[host], cores[1 - host], rng)
            else:
                _run(cores[host], action, pick)
        _sync(cores[0], cores[1], rng)
        _sync(cores[1], cores[0], rng)

        live = [_project(cores[h], root / f"views-{h}.db", rng) for h in (0, 1)]
        for h in (0, 1):
            rebuilt = _rebuilt(cores[h], root / f"rebuilt-{h}.db", rng.randint(1, 8))
            differences, _ = compare(live[h], rebuilt)
            assert differences == []
        differences, rows = compare(live[0], live[1])
        assert differences == []
        assert rows > 0


def test_gap_in_a_batch_is_refused(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="alpha")
    call(core, "project.add", name="beta")
    projection = Projection(views.open_views_db(tmp_path / "v.db"), core.conn)
    second = eventlog.read_after(core.conn, 1, 1)
    with pytest.raises(GapError, match="does not follow"):
        projection.apply(second)
    assert projection.position == 0
    assert projection.catch_up() == 2


def test_undecodable_events_are_skipped_and_counted(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "ingest", events=[["id-1", "other", 1, 1 << 16, "FutureKind", b"\x80"]])
    call(core, "project.add", name="alpha")
    conn = views.open_views_db(tmp_path / "v.db")
    Projection(conn, core.conn).catch_up()
    counts = dict(conn.execute("SELECT kind, n FROM counts"))
    assert counts["~skipped"] == 1
    assert views.position(conn) == 2


def test_a_state_evicted_from_the_cache_mid_batch_is_not_lost(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="alpha")
    task = call(core, "task.add", project="alpha", title="t")["task"]
    for i in range(5):
        call(core, "task.note", task=task, text=f"n{i}")
        call(core, "project.add", name=f"p{i}")  # other entities push the task out
    conn = views.open_views_db(tmp_path / "v.db")
    projection = Projection(conn, core.conn, cache_entries=1)
    projection.apply(eventlog.read_after(core.conn, 0, 2))  # the task's row is now stored
    projection.catch_up(batch=1000)  # then notes and other entities in one batch
    rebuilt = _rebuilt(core, tmp_path / "r.db")
    assert compare(conn, rebuilt)[0] == []
    assert conn.execute("SELECT notes FROM tasks").fetchone()[0] == 5


def test_a_rebuild_up_to_a_position_stops_inside_a_batch(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="alpha")
    task = call(core, "task.add", project="alpha", title="t")["task"]
    for i in range(6):
        call(core, "task.note", task=task, text=f"n{i}")
    live = views.open_views_db(tmp_path / "v.db")
    projection = Projection(live, core.conn)
    projection.apply(eventlog.read_after(core.conn, 0, 5))  # up to seq 5: three notes
    rebuilt = views.open_views_db(tmp_path / "r.db")
    assert Projection(rebuilt, core.conn).rebuild(batch=4, upto=5) == 5
    assert views.position(rebuilt) == 5
    assert compare(live, rebuilt)[0] == []
    assert rebuilt.execute("SELECT notes FROM tasks").fetchone()[0] == 3


def test_long_transactions_write_states_out_when_the_cache_is_full(tmp_path: Path) -> None:
    """Catch-up and rebuild fold many batches per transaction and hold changed states
    until written; with a tiny cache they are written (and reloaded) over and over."""
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="alpha")
    tasks = [call(core, "task.add", project="alpha", title=f"t{i}")["task"] for i in range(5)]
    for i in range(30):
        call(core, "task.note", task=tasks[i % 5], text=f"n{i}")
        if i % 7 == 0:
            call(core, "task.state", task=tasks[i % 5], state="in_progress", force=True)
    reference = _rebuilt(core, tmp_path / "r.db")
    small = views.open_views_db(tmp_path / "small.db")
    assert Projection(small, core.conn, cache_entries=2).rebuild(batch=3, states_held=2) > 0
    assert compare(reference, small)[0] == []
    caught = views.open_views_db(tmp_path / "c.db")
    projection = Projection(caught, core.conn, cache_entries=2)
    changed: dict[str, set[str]] = {}
    caught_up = projection.catch_up(batch=4, per_transaction=9, changed=changed)
    assert caught_up == views.position(reference)
    assert changed["tasks"] == set(tasks)  # states written early are reported too
    assert changed["projects"] == {"p:alpha"}
    assert views.position(caught) == projection.position
    # Reads of 4 rows until a transaction holds 9 or more: 12 per transaction.
    assert projection.transactions == -(-caught_up // 12)
    assert projection.catch_up() == 0
    assert projection.transactions == -(-caught_up // 12)  # nothing new: no transaction
    assert compare(reference, caught)[0] == []
    notes = dict(caught.execute("SELECT id, notes FROM tasks"))
    assert notes == dict.fromkeys(tasks, 6)


def test_an_entity_held_back_is_remembered_across_a_restart(tmp_path: Path) -> None:
    """A note that arrives before its task's creation folds to nothing; the views record
    the task as held back, so a restarted projector still refolds on the creation."""
    source = make_core(tmp_path / "a.db", HOSTS[0], Clock())
    call(source, "project.add", name="alpha")
    task = call(source, "task.add", project="alpha", title="t")["task"]
    call(source, "task.note", task=task, text="early")
    project, created, noted = eventlog.read_after(source.conn, 0, 10)
    target = make_core(tmp_path / "b.db", HOSTS[1], Clock())
    call(target, "ingest", events=[remote_event_wire(e) for e in (project, noted)])
    conn = views.open_views_db(tmp_path / "v.db")
    Projection(conn, target.conn).catch_up()
    assert views.held_back(conn) == {task}
    assert conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0] == 0
    call(target, "ingest", events=[remote_event_wire(created)])
    Projection(conn, target.conn).catch_up()  # a new projector: nothing cached
    assert views.held_back(conn) == set()
    assert conn.execute("SELECT title, notes FROM tasks").fetchall() == [("t", 1)]
    assert compare(conn, _rebuilt(target, tmp_path / "r.db"))[0] == []


def test_the_cycle_collector_is_paused_only_while_folding(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="alpha")
    seen: list[bool] = []
    projection = Projection(views.open_views_db(tmp_path / "v.db"), core.conn)
    original = views.save_states

    def spy(conn: sqlite3.Connection, states: Any) -> None:
        seen.append(gc.isenabled())
        original(conn, states)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(views, "save_states", spy)
        projection.rebuild()
        call(core, "project.add", name="beta")
        projection.catch_up()
    assert seen == [False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        projection.rebuild()
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()


def test_many_late_events_of_one_entity_read_its_history_once_per_transaction(
    tmp_path: Path,
) -> None:
    """A catch-up from a peer brings a busy entity's older events after its newer
    ones. Each sorts before what the entity holds; refolding its whole history for
    every one of them made a catch-up quadratic in the entity's history."""
    early = make_core(tmp_path / "a.db", HOSTS[0], Clock())
    call(early, "project.add", name="alpha")
    task = call(early, "task.add", project="alpha", title="t")["task"]
    for i in range(20):
        call(early, "task.note", task=task, text=f"old {i}")
    target = make_core(tmp_path / "b.db", HOSTS[1], Clock(1_700_000_000_000 + 60_000))
    older = eventlog.read_after(early.conn, 0, 100)
    call(target, "ingest", events=[remote_event_wire(e) for e in older[:2]])  # project, task
    for i in range(5):
        call(target, "task.note", task=task, text=f"new {i}")  # a minute later
    call(target, "ingest", events=[remote_event_wire(e) for e in older[2:]])  # 20 late notes
    conn = views.open_views_db(tmp_path / "v.db")
    projection = Projection(conn, target.conn)
    projection.apply(eventlog.read_after(target.conn, 0, 7))  # all but the late notes
    reads: list[str] = []
    original = eventlog.entity_events

    def counted(events: sqlite3.Connection, entity: str, upto_seq: int | None = None) -> Any:
        reads.append(entity)
        return original(events, entity, upto_seq)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(eventlog, "entity_events", counted)
        projection.catch_up(batch=4)  # five reads of rows, one transaction
    assert reads == [task]
    assert conn.execute("SELECT notes FROM tasks").fetchone()[0] == 25
    assert compare(conn, _rebuilt(target, tmp_path / "r.db"))[0] == []
