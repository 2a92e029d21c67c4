"""One contract suite over both LocalLogs: the in-memory reference and the SQLite one.

The SQLite log ingests through a real WriterCore (the writer node's decisions,
without its sockets), so these tests also pin the writer's ``ingest`` reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from clare.bus import rpc
from clare.core.errors import ClareError, ProtocolError, StorageError
from clare.core.events import Event
from clare.core.hlc import HybridClock, pack
from clare.nodes.gossip_log import SqliteLog, ingest_args
from clare.nodes.writer_core import WriterCore
from clare.store.eventlog import open_events_db, open_events_reader
from clare.store.sqlite import transaction
from clare.sync.log import LocalLog, MemoryLog
from clare.sync.messages import event_wire_size
from clare.sync.vector import Range

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

HERE = "00000000-0000-4000-8000-0000000000aa"
BODY = b"\x80"  # an empty msgpack map: the writer insists on a map


class Time:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@dataclass
class Subject:
    """A LocalLog under test, with a way to write local events and the clock it stamps with."""

    log: LocalLog
    append: Callable[[str], Event]
    clock: HybridClock
    time: Time


def _memory(_: Path) -> Iterator[Subject]:
    time = Time(10_000_000)
    clock = HybridClock(physical_ms=time, max_offset_ms=500)
    log = MemoryLog(HERE, clock)
    yield Subject(log, lambda event_id: log.append(event_id, "Wrote", BODY), clock, time)


def _sqlite(tmp_path: Path) -> Iterator[Subject]:
    time = Time(10_000_000)
    clock = HybridClock(physical_ms=time, max_offset_ms=500)
    core = WriterCore(open_events_db(tmp_path / "events.db"), HERE, clock)
    reader = open_events_reader(tmp_path / "events.db")

    def call(op: str, args: dict[str, Any]) -> dict[str, Any]:
        outcome = core.handle_batch([(b"c", rpc.Request.new(op, args).encode())])
        ((_, frame),) = outcome.replies
        _, result = rpc.parse_reply(frame)
        if isinstance(result, ClareError):
            raise result
        return result

    def append(event_id: str) -> Event:
        # What a local command does, with a chosen id so both logs can be compared.
        with transaction(core.conn):
            event = core.log.append_local("Wrote", "", BODY, clock.now())
            core.conn.execute("UPDATE events SET id = ? WHERE seq = ?", (event_id, event.seq))
        return Event(
            event.seq, event_id, event.origin, event.origin_seq, event.hlc, event.kind, event.body
        )

    yield Subject(SqliteLog(reader, call), append, clock, time)
    reader.close()
    core.conn.close()


@pytest.fixture(params=["memory", "sqlite"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    yield from {"memory": _memory, "sqlite": _sqlite}[request.param](tmp_path)


def remote(origin: str, seq: int, ms: int, body: bytes = BODY) -> Event:
    return Event(0, f"{origin}-{seq}", origin, seq, pack(ms, 0), "Wrote", body)


def test_local_writes_count_in_the_vector(subject: Subject) -> None:
    subject.append("e1")
    subject.time.ms += 1
    subject.append("e2")
    assert subject.log.vector() == {HERE: 2}
    got = subject.log.read([Range(HERE, 1, 5)], 10, 10_000)
    assert [e.id for e in got] == ["e1", "e2"]
    assert got[0].hlc < got[1].hlc


def test_ingest_sorts_new_duplicate_and_conflicting_events(subject: Subject) -> None:
    subject.append("mine")
    first = remote("b", 1, 9_999_000)
    result = subject.log.ingest([first, first])
    assert [e.id for e in result.new] == ["b-1"]
    assert result.new[0].seq > 0
    assert result.duplicates == 1
    assert result.vector == {"b": 1}
    clash_key = Event(0, "other-id", "b", 1, 5, "Wrote", BODY)
    clash_id = Event(0, "b-1", "b", 2, 5, "Wrote", BODY)
    forged = Event(0, "forged", HERE, 2, 5, "Wrote", BODY)
    result = subject.log.ingest([clash_key, clash_id, forged])
    assert result.conflicts == (clash_key, clash_id, forged)
    assert result.new == ()
    assert result.duplicates == 0
    assert subject.log.vector() == {HERE: 1, "b": 1}


def test_own_event_offered_back_is_a_duplicate(subject: Subject) -> None:
    mine = subject.append("mine")
    result = subject.log.ingest([mine])
    assert (result.new, result.duplicates, result.conflicts) == ((), 1, ())


def test_events_above_a_gap_are_stored_but_not_counted(subject: Subject) -> None:
    result = subject.log.ingest([remote("b", 3, 9_000_000), remote("b", 1, 9_000_000)])
    assert len(result.new) == 2
    assert result.vector == {"b": 1}
    assert subject.log.vector() == {"b": 1}
    assert subject.log.ingest([remote("b", 2, 9_000_000)]).vector == {"b": 3}
    assert subject.log.vector() == {"b": 3}


def test_clock_ahead_is_refused_until_local_time_catches_up(subject: Subject) -> None:
    early = remote("b", 1, 10_000_800)
    result = subject.log.ingest([early])
    assert result.clock_ahead == (early,)
    assert result.conflicts == ()
    assert subject.log.vector() == {}
    assert subject.clock.last < early.hlc  # refused stamps do not move the clock
    subject.time.ms = 10_000_300
    assert [e.id for e in subject.log.ingest([early]).new] == ["b-1"]
    assert subject.clock.last > early.hlc


def test_read_stops_at_a_missing_seq_within_a_range(subject: Subject) -> None:
    subject.log.ingest([remote("b", s, 9_000_000) for s in (1, 2, 4)])
    subject.log.ingest([remote("c", 1, 9_000_000)])
    got = subject.log.read([Range("b", 1, 4), Range("c", 1, 1)], 100, 10_000)
    assert [(e.origin, e.origin_seq) for e in got] == [("b", 1), ("b", 2), ("c", 1)]


def test_read_is_bounded_by_count_and_bytes_but_returns_at_least_one(subject: Subject) -> None:
    body = b"\x81\xa1x\xc4\x64" + b"x" * 100  # {"x": 100 bytes}
    subject.log.ingest([remote("b", s, 9_000_000, body) for s in range(1, 11)])
    size = event_wire_size(subject.log.read([Range("b", 1, 1)], 1, 1)[0])
    assert len(subject.log.read([Range("b", 1, 10)], 3, 10_000)) == 3
    assert len(subject.log.read([Range("b", 1, 10)], 100, 2 * size + 1)) == 2
    assert len(subject.log.read([Range("b", 1, 10)], 100, 1)) == 1
    both = subject.log.read([Range("b", 9, 10), Range("b", 1, 3)], 3, 10_000)
    assert [e.origin_seq for e in both] == [9, 10, 1]


def test_the_top_walks_far_past_one_query(tmp_path: Path) -> None:
    core = WriterCore(open_events_db(tmp_path / "e.db"), HERE, HybridClock(physical_ms=Time(10**7)))
    log = SqliteLog(open_events_reader(tmp_path / "e.db"))
    log.vector()
    events = [remote("b", s, 9_000_000) for s in range(1, 10_001)]
    request = rpc.Request.new("ingest", ingest_args(events))
    core.handle_batch([(b"c", request.encode())])
    assert log.top("b") == 10_000
    assert log.vector() == {"b": 10_000}


def test_a_read_only_log_refuses_to_ingest(tmp_path: Path) -> None:
    open_events_db(tmp_path / "e.db").close()
    log = SqliteLog(open_events_reader(tmp_path / "e.db"))
    with pytest.raises(StorageError, match="read-only"):
        log.ingest([remote("b", 1, 1)])


def test_a_reply_without_the_new_list_is_a_protocol_error(tmp_path: Path) -> None:
    open_events_db(tmp_path / "e.db").close()
    log = SqliteLog(open_events_reader(tmp_path / "e.db"))
    with pytest.raises(ClareError, match="new events"):
        log.result_of([remote("b", 1, 1)], {"stored": 1, "duplicates": 0, "rejected": []})


@pytest.mark.parametrize(
    "runs",
    [[[1, 5, 1]], [[0, 5, 2]], [[-1, 5, 1]], [[0, 0, 1]], [[0, 5, 0]], [[0, 5]], [["0", 5, 1]]],
)
def test_a_reply_with_a_run_outside_the_batch_is_a_protocol_error(
    tmp_path: Path, runs: list[list[object]]
) -> None:
    open_events_db(tmp_path / "e.db").close()
    log = SqliteLog(open_events_reader(tmp_path / "e.db"))
    reply = {"stored": 1, "duplicates": 0, "rejected": [], "new_runs": runs}
    with pytest.raises(ProtocolError, match="bad run"):
        log.result_of([remote("b", 1, 1)], reply)


def test_runs_give_each_new_event_its_seq(tmp_path: Path) -> None:
    open_events_db(tmp_path / "e.db").close()
    log = SqliteLog(open_events_reader(tmp_path / "e.db"))
    events = [remote("b", s, s) for s in range(1, 6)]
    reply = {"stored": 3, "duplicates": 2, "rejected": [], "new_runs": [[0, 7, 2], [4, 9, 1]]}
    result = log.result_of(events, reply)
    assert [(e.origin_seq, e.seq) for e in result.new] == [(1, 7), (2, 8), (5, 9)]
