"""Decisions in the views: projected like any entity, the same on every host, read back."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import Ambiguous, NotFound
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog, queries_decisions, views
from clare.store.maintenance import compare
from clare.store.projection import Projection
from tests.helpers import Clock, call, make_core

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"


def _sync(source: WriterCore, target: WriterCore, rng: random.Random) -> None:
    events = [remote_event_wire(e) for e in eventlog.read_after(source.conn, 0, 100_000)]
    rng.shuffle(events)
    call(target, "ingest", events=events)


def _project(core: WriterCore, path: Path, rng: random.Random) -> sqlite3.Connection:
    conn = views.open_views_db(path)
    projection = Projection(conn, core.conn)
    while events := eventlog.read_after(core.conn, projection.position, rng.randint(1, 3)):
        projection.apply(events)
    return conn


@pytest.mark.parametrize("seed", range(5))
def test_two_hosts_answering_differently_show_the_same_winner_and_conflict(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    a = make_core(tmp_path / "a.db", A, Clock())
    b = make_core(tmp_path / "b.db", B, Clock(1_700_000_000_000 - 40))  # b's clock is behind
    call(a, "host.name", name="laptop")
    call(b, "host.name", name="server")
    decision = call(b, "decision.ask", session="s1", tool="Bash", summary="make deploy", at=1)[
        "decision"
    ]
    _sync(b, a, rng)
    # Both answer before either hears of the other's answer.
    call(a, "decision.make", decision=decision, behavior="allow", author="ann@laptop")
    call(b, "decision.make", decision=decision, behavior="deny", reason="not today", via="web")
    _sync(a, b, rng)
    _sync(b, a, rng)
    live = [_project(core, tmp_path / f"v{i}.db", rng) for i, core in enumerate((a, b))]
    assert compare(live[0], live[1])[0] == []
    rebuilt = views.open_views_db(tmp_path / "r.db")
    Projection(rebuilt, a.conn).rebuild()
    assert compare(live[0], rebuilt)[0] == []

    shown = queries_decisions.get_decision(live[1], decision)
    assert shown["host"] == "server"
    assert shown["summary"] == "make deploy"
    # b's writer stamped its answer 40 ms "earlier" by its clock: first by the agreed order.
    assert shown["state"] == "denied"
    assert shown["answer"]["host"] == "server"
    assert shown["answer"]["via"] == "web"
    assert [(c["outcome"], c["host"], c["author"]) for c in shown["conflicts"]] == [
        ("allow", "laptop", "ann@laptop")
    ]
    assert queries_decisions.list_decisions(live[0]) == []
    assert [d["id"] for d in queries_decisions.list_decisions(live[0], include_settled=True)] == [
        decision
    ]


def test_pending_ones_are_listed_oldest_first_and_found_by_prefix(tmp_path: Path) -> None:
    core = make_core(tmp_path / "e.db", A)
    first = call(core, "decision.ask", session="s1", tool="Bash", summary="one", at=5)["decision"]
    second = call(core, "decision.ask", session="s2", tool="Edit", summary="two", at=9)["decision"]
    done = call(core, "decision.ask", session="s1", tool="Bash", summary="three", at=7)["decision"]
    call(core, "decision.settle", decisions=[done], how="terminal")
    conn = views.open_views_db(tmp_path / "v.db")
    Projection(conn, core.conn).catch_up()
    listed = queries_decisions.list_decisions(conn)
    assert [d["id"] for d in listed] == [first, second]
    assert listed[0]["pending"]
    assert listed[0]["tool"] == "Bash"
    assert queries_decisions.pending_count(conn) == 2
    assert {d.id for d in queries_decisions.pending_of_host(conn, A)} == {first, second}
    assert queries_decisions.pending_of_host(conn, B) == []
    assert queries_decisions.resolve_decision(conn, first[:8]) == first
    assert queries_decisions.resolve_decision(conn, first[2:9]) == first  # "d-" left out
    with pytest.raises(NotFound):
        queries_decisions.resolve_decision(conn, "d-zzzz")
    with pytest.raises(Ambiguous):
        queries_decisions.resolve_decision(conn, "d-")
    assert queries_decisions.get_decision(conn, done)["state"] == "answered at the terminal"
