from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.bus import envelope, rpc
from clare.core.errors import InvalidTransition, NotFound, ProtocolError, StorageError, UsageError
from clare.store import eventlog
from tests.helpers import Clock, call, count_events, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    return make_core(tmp_path / "events.db")


def test_commands_become_events(core: WriterCore) -> None:
    call(core, "project.add", name="alpha", description="d", path="/src/alpha")
    result = call(core, "task.add", project="alpha", title="write it", priority=2, tags=["x"])
    assert result["task"].startswith("t-")
    (written,) = result["events"]
    assert written["seq"] == 2
    stored = eventlog.read_after(core.conn, 0, 10)
    assert [e.kind for e in stored] == ["ProjectCreated", "TaskCreated"]
    assert [e.origin_seq for e in stored] == [1, 2]
    assert stored[0].hlc < stored[1].hlc


def test_a_resent_command_is_answered_once_and_written_once(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    first = call(core, "task.add", request_id="same", project="alpha", title="t")
    again = call(core, "task.add", request_id="same", project="alpha", title="t")
    assert first == again
    assert count_events(core.conn) == 2


def test_duplicates_inside_one_batch_are_written_once(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    request = rpc.Request("dup", "task.add", {"project": "alpha", "title": "t"})
    outcome = core.handle_batch([(b"a", request.encode()), (b"b", request.encode())])
    assert [identity for identity, _ in outcome.replies] == [b"a", b"b"]
    assert outcome.replies[0][1] == outcome.replies[1][1]
    assert len(outcome.committed) == 1


def test_group_commit_answers_every_command_of_a_batch(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    requests = [
        rpc.Request(f"batch-{i}", "task.add", {"project": "alpha", "title": f"t{i}"})
        for i in range(50)
    ]
    outcome = core.handle_batch([(str(i).encode(), r.encode()) for i, r in enumerate(requests)])
    assert len(outcome.replies) == 50
    assert len(outcome.committed) == 50
    assert count_events(core.conn) == 51


def test_usage_errors_write_nothing(core: WriterCore) -> None:
    with pytest.raises(NotFound, match="clare project add nowhere"):
        call(core, "task.add", project="nowhere", title="t")
    call(core, "project.add", name="alpha")
    with pytest.raises(UsageError, match="exists already"):
        call(core, "project.add", name="alpha")
    with pytest.raises(UsageError, match="title"):
        call(core, "task.add", project="alpha", title="   ")
    with pytest.raises(UsageError, match="priority must be a whole number"):
        call(core, "task.add", project="alpha", title="t", priority="high")
    with pytest.raises(UsageError, match="unknown command"):
        call(core, "rm.rf")
    assert count_events(core.conn) == 1


def test_state_machine_is_enforced(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    task = call(core, "task.add", project="alpha", title="t")["task"]
    call(core, "task.state", task=task, state="done")
    with pytest.raises(InvalidTransition, match="cannot start"):
        call(core, "task.state", task=task, state="in_progress")
    call(core, "task.state", task=task, state="todo", note="again")
    kinds = [e.kind for e in eventlog.entity_events(core.conn, task)]
    assert kinds == ["TaskCreated", "TaskStateChanged", "TaskStateChanged", "TaskNoted"]


def test_dependencies_must_exist_and_not_cycle(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    a = call(core, "task.add", project="alpha", title="a")["task"]
    b = call(core, "task.add", project="alpha", title="b", depends_on=[a])["task"]
    with pytest.raises(NotFound):
        call(core, "task.add", project="alpha", title="c", depends_on=["t-0000000000"])
    with pytest.raises(UsageError, match="cycle"):
        call(core, "task.update", task=a, depends_on=[b])
    with pytest.raises(InvalidTransition, match="waits on"):
        call(core, "task.state", task=b, state="in_progress")
    call(core, "task.state", task=b, state="in_progress", force=True)


def test_assignment_checks_the_assignee(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    task = call(core, "task.add", project="alpha", title="a")["task"]
    with pytest.raises(NotFound, match="no session"):
        call(core, "task.assign", task=task, assignee_kind="session", assignee="s-nope")
    with pytest.raises(NotFound, match="no host named"):
        call(core, "task.assign", task=task, assignee_kind="host", assignee="mars")
    call(core, "host.name", name="laptop", groups=[])
    call(core, "task.assign", task=task, assignee_kind="host", assignee="laptop")
    with pytest.raises(UsageError, match="already assigned"):
        call(core, "task.assign", task=task, assignee_kind="host", assignee="laptop")
    call(core, "task.unassign", task=task)
    with pytest.raises(UsageError, match="not assigned"):
        call(core, "task.unassign", task=task)


def test_malformed_frames_get_an_error_reply(core: WriterCore) -> None:
    outcome = core.handle_batch(
        [(b"x", b"\xff\x00garbage"), (b"y", envelope.encode("cmd", {"id": 3}))]
    )
    assert len(outcome.replies) == 2
    for _, frame in outcome.replies:
        _, error = rpc.parse_reply(frame)
        assert isinstance(error, ProtocolError)
    assert count_events(core.conn) == 0


def test_a_failed_commit_acknowledges_nothing_and_recovers(core: WriterCore) -> None:
    call(core, "project.add", name="alpha")
    core.conn.execute("PRAGMA query_only = 1")  # every write now fails, like a read-only disk
    with pytest.raises(StorageError):
        call(core, "task.add", project="alpha", title="lost")
    core.conn.execute("PRAGMA query_only = 0")
    result = call(core, "task.add", project="alpha", title="kept")
    assert result["events"][0]["seq"] == 2
    assert [e.origin_seq for e in eventlog.read_after(core.conn, 0, 10)] == [1, 2]


def test_counters_and_clock_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    core = make_core(tmp_path / "e.db", clock=clock)
    call(core, "project.add", name="alpha")
    last = eventlog.read_after(core.conn, 0, 1)[0]
    core.conn.close()
    clock.ms -= 10_000  # the wall clock went back while we were down
    again = make_core(tmp_path / "e.db", clock=clock)
    call(again, "project.add", name="beta")
    second = eventlog.read_after(again.conn, 1, 1)[0]
    assert second.origin_seq == 2
    assert second.hlc > last.hlc


def test_old_answers_are_pruned(core: WriterCore) -> None:
    call(core, "project.add", request_id="old", name="alpha")
    core.conn.execute("UPDATE commands SET at_ms = 0")
    core._next_prune_ms = 0
    call(core, "project.add", request_id="new", name="beta")
    ids = {r[0] for r in core.conn.execute("SELECT id FROM commands")}
    assert ids == {"new"}
