"""Events the projection cannot fold are set aside, counted and recorded; never fatal.

One TaskCreated with a priority of 2**63 once killed the projector on every
host it reached: it decoded, then failed the write of its row to SQLite.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from typing import TYPE_CHECKING, Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clare.domain.messages  # registers its event kinds and folds
from clare.domain import kinds
from clare.domain.events import EVENT_TYPES
from clare.runtime.paths import resolve
from clare.store import eventlog, maintenance, queries_events, views
from clare.store.maintenance import compare
from clare.store.projection import SKIPPED, Projection
from tests.helpers import call, make_core

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    import pytest

    from clare.nodes.writer_core import WriterCore

assert clare.domain.messages.MessageSent.kind in EVENT_TYPES

PEER = "00000000-0000-4000-8000-0000000000ee"
HLC = 1_700_000_000_000 << 16


def _remote(core: WriterCore, kind: str, body: dict[str, Any], origin_seq: int) -> None:
    """Store an event as if a peer had sent it (the writer's ingest, as sync does)."""
    packed = msgpack.packb(body, use_bin_type=True)
    wire = [str(uuid.uuid4()), PEER, origin_seq, HLC + origin_seq, kind, packed]
    result = call(core, "ingest", events=[wire])
    assert result["stored"] == 1, result


POISONS = [
    ("TaskCreated", {"task": "t-poison1", "project": "p", "title": "x", "priority": 2**63}),
    ("TaskEdited", {"task": "t-poison1", "priority": 2**64 - 1}),
    ("SessionObserved", {"session": "s-1", "host": PEER, "last_activity": 2**63}),
    ("MessageSent", {"message": "m-1", "target": "all", "text": "hi", "sent_at": 2**63}),
    ("MessageSent", {"message": "m-2", "target": "all", "text": "hi", "expires_at": 2**63}),
]


def test_poisoned_events_are_set_aside_and_the_rest_is_folded(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="p")
    for n, (kind, body) in enumerate(POISONS, start=1):
        _remote(core, kind, body, n)
    good = call(core, "task.add", project="p", title="after the poison")["task"]
    conn = views.open_views_db(tmp_path / "v.db")
    projection = Projection(conn, core.conn)
    projection.catch_up()
    assert projection.position == core.log.last_seq
    assert [row[0] for row in conn.execute("SELECT id FROM tasks")] == [good]
    aside = queries_events.set_aside(conn, 100)
    assert sorted(a["kind"] for a in aside.values()) == sorted(k for k, _ in POISONS)
    assert all("out of bounds" in a["reason"] for a in aside.values())
    assert queries_events.event_counts(conn)[SKIPPED] == len(POISONS)
    # A rebuild sets the same events aside, and verify finds the views equal to it.
    rebuilt = views.open_views_db(tmp_path / "r.db")
    Projection(rebuilt, core.conn).rebuild()
    assert compare(conn, rebuilt) == ([], compare(conn, rebuilt)[1])


def test_an_event_whose_fold_fails_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding bounds every field, so a fold that raises has a bug a peer's data found:
    the event is set aside, the projector goes on."""
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="p")
    doomed = call(core, "task.add", project="p", title="boom")["task"]
    kept = call(core, "task.add", project="p", title="fine")["task"]
    task_fold = kinds.TASKS.fold

    def buggy(state: Any, event: Any, meta: Any) -> Any:
        if getattr(event, "title", None) == "boom":
            raise ZeroDivisionError("a bug")
        return task_fold(state, event, meta)

    monkeypatch.setitem(kinds._BY_PREFIX, "t-", dataclasses.replace(kinds.TASKS, fold=buggy))
    conn = views.open_views_db(tmp_path / "v.db")
    Projection(conn, core.conn).catch_up()
    assert [row[0] for row in conn.execute("SELECT id FROM tasks")] == [kept]
    [aside] = queries_events.set_aside(conn).values()
    assert aside["reason"] == "its fold failed: ZeroDivisionError: a bug"
    assert doomed not in {row[0] for row in conn.execute("SELECT entity FROM held_back")}


def _unwritable_boom(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the views refuse any state titled "boom", as SQLite refused 2**63."""
    save_states = views.save_states

    def refusing(conn: sqlite3.Connection, states: Any) -> None:
        states = list(states)
        if any(getattr(s, "title", None) == "boom" for s in states):
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        save_states(conn, states)

    monkeypatch.setattr(views, "save_states", refusing)


def test_an_event_whose_rows_cannot_be_written_is_set_aside_on_every_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last resort, for a failure no check foresaw: the batch is applied again one
    event per transaction, and the one that fails is set aside, not retried for ever."""
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="p")
    call(core, "task.add", project="p", title="before")
    call(core, "task.add", project="p", title="boom")
    call(core, "task.add", project="p", title="after")
    _unwritable_boom(monkeypatch)

    def check(conn: sqlite3.Connection, projection: Projection) -> None:
        assert projection.position == core.log.last_seq
        titles = sorted(row[0] for row in conn.execute("SELECT title FROM tasks"))
        assert titles == ["after", "before"]
        [aside] = queries_events.set_aside(conn).values()
        assert aside["kind"] == "TaskCreated"
        assert aside["reason"].startswith("its views could not be written: OverflowError")

    caught_up = views.open_views_db(tmp_path / "c.db")
    projection = Projection(caught_up, core.conn)
    projection.catch_up()
    check(caught_up, projection)

    applied = views.open_views_db(tmp_path / "a.db")
    projection = Projection(applied, core.conn)
    projection.apply(eventlog.read_after(core.conn, 0, 100))
    check(applied, projection)

    rebuilt = views.open_views_db(tmp_path / "r.db")
    projection = Projection(rebuilt, core.conn)
    projection.rebuild()
    check(rebuilt, projection)
    assert compare(caught_up, rebuilt)[0] == []


def test_verify_compares_up_to_the_newest_event(tmp_path: Path) -> None:
    """Views stuck behind the events matched a rebuild up to their own position."""
    paths = resolve(tmp_path)
    paths.data_dir.mkdir(parents=True)
    core = make_core(paths.events_db)
    call(core, "project.add", name="p")
    maintenance.rebuild(paths)
    assert maintenance.verify(paths, catch_up_wait_s=0)["ok"]
    call(core, "task.add", project="p", title="not projected")
    report = maintenance.verify(paths, catch_up_wait_s=0)
    assert not report["ok"]
    assert report["differences"][0].startswith(
        "position: the views stop at event 1, the events go on to 2"
    )
    assert "tasks t-" in report["differences"][1]


# --- any body, for every kind -------------------------------------------------------------

msgpack_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**64 - 1),  # all that msgpack can carry
        st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64 - 1]),
        st.floats(allow_nan=True),
        st.text(max_size=8),
        st.binary(max_size=8),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


def _typed(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field's declared type, with numbers up to what msgpack carries."""
    options = (
        typing.get_args(annotation)
        if typing.get_origin(annotation)
        in (
            types.UnionType,
            typing.Union,
        )
        else (annotation,)
    )
    strategies = []
    for option in options:
        if option is int:
            big = st.sampled_from([2**63 - 1, 2**63, -(2**63), 2**64 - 1])
            strategies.append(st.one_of(st.integers(-5, 5), big))
        elif option is str:
            strategies.append(st.sampled_from(["", "t-1", "p", "s-1", "all", "todo", "done"]))
        elif option is bool:
            strategies.append(st.booleans())
        elif typing.get_origin(option) is tuple:
            strategies.append(st.lists(st.sampled_from(["a", "t-1", "session:s-1"]), max_size=3))
        elif typing.get_origin(option) is dict:
            strategies.append(st.dictionaries(st.text(max_size=3), st.text(max_size=3)))
        else:
            strategies.append(st.none())
    return st.one_of(strategies)


@st.composite
def poisoned_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(sorted(EVENT_TYPES)))
    cls = EVENT_TYPES[kind]
    hints = typing.get_type_hints(cls)
    body: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        choice = draw(st.integers(0, 5))
        if choice == 0:
            body[f.name] = draw(msgpack_values)
        elif choice > 1 or f.name == cls.entity_field:
            body[f.name] = draw(_typed(hints[f.name]))
    if draw(st.integers(0, 5)) > 0:
        return kind, msgpack.packb(body, use_bin_type=True)
    return kind, draw(st.one_of(st.binary(max_size=12), st.builds(msgpack.packb, msgpack_values)))


def _fresh(tmp_path: Path, name: str) -> sqlite3.Connection:
    target = tmp_path / name
    for suffix in ("", "-wal", "-shm"):
        target.with_name(name + suffix).unlink(missing_ok=True)
    return views.open_views_db(target)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(poisoned_bodies(), min_size=1, max_size=6))
def test_no_body_of_any_kind_stops_the_projector(
    tmp_path: Path, cases: list[tuple[str, bytes]]
) -> None:
    (tmp_path / "e.db").unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"e.db{suffix}").unlink(missing_ok=True)
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="p")
    call(core, "task.add", project="p", title="good")
    for n, (kind, body) in enumerate(cases, start=1):
        wire = [str(uuid.uuid4()), PEER, n, HLC + n, kind, body]
        call(core, "ingest", events=[wire])
    call(core, "task.add", project="p", title="good too")
    live = _fresh(tmp_path, "v.db")
    projection = Projection(live, core.conn)
    projection.catch_up()
    assert projection.position == core.log.last_seq
    titles = {row[0] for row in live.execute("SELECT title FROM tasks")}
    assert {"good", "good too"} <= titles
    rebuilt = _fresh(tmp_path, "r.db")
    Projection(rebuilt, core.conn).rebuild()
    assert compare(live, rebuilt)[0] == []
    live.close()
    rebuilt.close()
    core.conn.close()
