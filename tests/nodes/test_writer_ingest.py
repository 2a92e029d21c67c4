from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from clare.core.events import encode_body
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from tests.helpers import Clock, call, count_events, make_core

if TYPE_CHECKING:
    from pathlib import Path

HERE = "00000000-0000-4000-8000-00000000000a"
THERE = "00000000-0000-4000-8000-00000000000b"


def _history(path: Path, tasks: int) -> list[list[object]]:
    """A project and ``tasks`` tasks made on another host, as ``ingest`` takes them."""
    there = make_core(path, machine_id=THERE)
    call(there, "project.add", name="alpha")
    for i in range(tasks):
        call(there, "task.add", project="alpha", title=f"t{i}")
    return [remote_event_wire(e) for e in eventlog.read_after(there.conn, 0, tasks + 1)]


def _new_seqs(result: dict[str, object]) -> list[tuple[int, int]]:
    """(position in the request, stored seq) of each event the reply says was stored now."""
    runs = result["new_runs"]
    assert isinstance(runs, list)
    return [(index + k, seq + k) for index, seq, n in runs for k in range(n)]


def test_ingest_stores_remote_events_once(tmp_path: Path) -> None:
    here = make_core(tmp_path / "a.db", machine_id="00000000-0000-4000-8000-00000000000a")
    there = make_core(tmp_path / "b.db", machine_id="00000000-0000-4000-8000-00000000000b")
    call(there, "project.add", name="alpha")
    call(there, "task.add", project="alpha", title="remote")
    remote = [remote_event_wire(e) for e in eventlog.read_after(there.conn, 0, 10)]
    result = call(here, "ingest", events=remote)
    assert (result["stored"], result["duplicates"], result["rejected"]) == (2, 0, [])
    again = call(here, "ingest", events=remote)
    assert (again["stored"], again["duplicates"]) == (0, 2)
    # The writer's own state now knows the remote project.
    call(here, "task.add", project="alpha", title="local")
    assert count_events(here.conn) == 3


def test_ingest_refuses_forgeries_and_far_future_stamps(tmp_path: Path) -> None:
    here = make_core(tmp_path / "a.db", machine_id="00000000-0000-4000-8000-00000000000a")
    body = encode_body({"project": "x"})
    future = (Clock().ms + 3_600_000) << 16
    result = call(
        here,
        "ingest",
        events=[
            ["id-1", here.log.machine_id, 1, 1 << 16, "ProjectCreated", body],  # claims to be us
            ["id-2", "other", 1, future, "ProjectCreated", body],  # an hour ahead
            ["id-3", "other", 1, 1 << 16, "ProjectCreated", b"\xc1"],  # not msgpack
            ["id-4", "other", -1, 1 << 16, "ProjectCreated", body],  # bad seq
            "junk",
        ],
    )
    assert result["stored"] == 0
    assert len(result["rejected"]) == 5
    assert "ahead" in result["rejected"][1]["reason"]
    assert count_events(here.conn) == 0


def test_ingest_refuses_a_different_event_in_a_taken_slot(tmp_path: Path) -> None:
    here = make_core(tmp_path / "a.db")
    body = encode_body({"project": "x"})
    call(here, "ingest", events=[["id-1", "other", 1, 1 << 16, "ProjectCreated", body]])
    result = call(here, "ingest", events=[["id-2", "other", 1, 2 << 16, "ProjectCreated", body]])
    assert result["rejected"][0]["reason"].startswith("another event holds")


def test_a_different_event_for_a_taken_slot_is_recorded_once_with_its_sender(
    tmp_path: Path,
) -> None:
    here = make_core(tmp_path / "a.db", machine_id=HERE)
    body = encode_body({"project": "x"})
    call(here, "ingest", events=[["id-1", THERE, 1, 1 << 16, "ProjectCreated", body]], peer="p")
    forged = encode_body({"project": "y"})
    other = ["id-2", THERE, 1, 2 << 16, "ProjectCreated", forged]
    for _ in range(3):  # offered again each anti-entropy round
        call(here, "ingest", events=[other], peer="relay")
    (conflict,) = eventlog.slot_conflicts(here.conn)
    assert (conflict["origin"], conflict["origin_seq"]) == (THERE, 1)
    assert (conflict["event_id"], conflict["held_id"], conflict["peer"]) == (
        "id-2",
        "id-1",
        "relay",
    )
    assert conflict["body_sha256"] == hashlib.sha256(forged).hexdigest()
    assert here.ingest.slot_conflicts == 1
    # The one stored first keeps the slot.
    assert [e.id for e in eventlog.read_after(here.conn, 0, 10)] == ["id-1"]


def test_a_forgery_of_our_own_future_slot_is_recorded(tmp_path: Path) -> None:
    here = make_core(tmp_path / "a.db", machine_id=HERE)
    body = encode_body({"project": "x"})
    call(here, "ingest", events=[["id-9", HERE, 7, 1 << 16, "ProjectCreated", body]], peer="f")
    (conflict,) = eventlog.slot_conflicts(here.conn)
    assert (conflict["origin_seq"], conflict["held_id"], conflict["peer"]) == (7, "", "f")
    assert eventlog.slot_conflict_count(here.conn) == 1


def test_ingest_of_new_and_known_events_mixed_stores_each_once(tmp_path: Path) -> None:
    here = make_core(tmp_path / "a.db", machine_id="00000000-0000-4000-8000-00000000000a")
    there = make_core(tmp_path / "b.db", machine_id="00000000-0000-4000-8000-00000000000b")
    call(there, "project.add", name="alpha")
    for i in range(4):
        call(there, "task.add", project="alpha", title=f"t{i}")
    remote = [remote_event_wire(e) for e in eventlog.read_after(there.conn, 0, 10)]
    call(here, "ingest", events=remote[:2])
    result = call(here, "ingest", events=remote)  # two known, three new, in one batch
    assert (result["stored"], result["duplicates"]) == (3, 2)
    stored = eventlog.read_after(here.conn, 0, 10)
    assert [e.id for e in stored] == [r[0] for r in remote]
    assert [e.seq for e in stored] == [1, 2, 3, 4, 5]
    # Positions 2, 3, 4 of the request were stored at seqs 3, 4, 5: one run.
    assert _new_seqs(result) == [(2, 3), (3, 4), (4, 5)]
    assert result["new_runs"] == [[2, 3, 3]]


def test_a_batch_stored_whole_is_answered_in_one_run(tmp_path: Path) -> None:
    remote = _history(tmp_path / "b.db", 300)
    here = make_core(tmp_path / "a.db", machine_id=HERE)
    result = call(here, "ingest", events=remote)
    assert result["new_runs"] == [[0, 1, 301]]
    # The stored answer (kept for resends) does not grow with the batch.
    (size,) = here.conn.execute("SELECT MAX(length(reply)) FROM commands").fetchone()
    assert size < 200


def test_runs_skip_what_was_refused_or_already_held(tmp_path: Path) -> None:
    remote = _history(tmp_path / "b.db", 5)
    here = make_core(tmp_path / "a.db", machine_id=HERE)
    call(here, "ingest", events=[remote[2]])
    mixed = [*remote[:2], "junk", *remote[2:]]
    result = call(here, "ingest", events=mixed)
    assert (result["stored"], result["duplicates"], len(result["rejected"])) == (5, 1, 1)
    assert _new_seqs(result) == [(0, 2), (1, 3), (4, 4), (5, 5), (6, 6)]
    assert result["new_runs"] == [[0, 2, 2], [4, 4, 3]]
    ids = [item[0] if isinstance(item, list) else None for item in mixed]
    stored = {e.id: e.seq for e in eventlog.read_after(here.conn, 0, 10)}
    assert all(stored[str(ids[i])] == seq for i, seq in _new_seqs(result))


def test_one_stamp_too_far_ahead_refuses_only_its_event(tmp_path: Path) -> None:
    clock = Clock()
    here = make_core(tmp_path / "a.db", machine_id=HERE, clock=clock)
    body = encode_body({"project": "x"})
    now = clock.ms << 16
    future = (clock.ms + 3_600_000) << 16
    events = [
        ["id-1", THERE, 1, now, "ProjectCreated", body],
        ["id-2", THERE, 2, future, "ProjectCreated", body],
        ["id-3", THERE, 3, now + 1, "ProjectCreated", body],
    ]
    result = call(here, "ingest", events=events)
    assert result["stored"] == 2
    assert [(r["id"], r["code"]) for r in result["rejected"]] == [("id-2", "clock_ahead")]
    assert _new_seqs(result) == [(0, 1), (2, 2)]
    # The clock moved past the stamps it took, not the one it refused.
    assert here.clock.last < future


def test_a_resent_ingest_gets_the_first_answer(tmp_path: Path) -> None:
    remote = _history(tmp_path / "b.db", 3)
    here = make_core(tmp_path / "a.db", machine_id=HERE)
    first = call(here, "ingest", request_id="batch-1", events=remote)
    again = call(here, "ingest", request_id="batch-1", events=remote)
    assert again == first
    assert count_events(here.conn) == 4
