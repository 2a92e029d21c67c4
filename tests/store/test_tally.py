"""The per-origin tally: read incrementally, always equal to a tally from scratch."""

from __future__ import annotations

import shutil
import uuid
from typing import TYPE_CHECKING

from clare.store import eventlog
from clare.store.eventlog import open_events_db
from clare.store.sqlite import open_reader
from clare.store.tally import Held, OriginTally

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path


def _add(conn: sqlite3.Connection, origin: str, origin_seq: int, hlc: int = 1) -> None:
    conn.execute(
        "INSERT INTO events (id, origin, origin_seq, hlc, kind, entity, body)"
        " VALUES (?, ?, ?, ?, 'TaskNoted', 't-1', x'80')",
        (str(uuid.uuid4()), origin, origin_seq, hlc),
    )


def _from_scratch(path: Path) -> dict[str, Held]:
    reader = open_reader(path)
    try:
        _seq, held = OriginTally().update(reader)
        assert {o: h.contiguous for o, h in held.items()} == eventlog.version_vector(reader)
        return held
    finally:
        reader.close()


def test_new_rows_are_merged_and_equal_a_tally_from_scratch(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writer = open_events_db(path)
    reader = open_reader(path)
    tally = OriginTally()
    assert tally.update(reader) == (0, {})
    for n in (1, 2, 3):
        _add(writer, "a", n, hlc=10 * n)
    _add(writer, "b", 2, hlc=5)  # b's first event has not arrived: a hole below it
    seq, held = tally.update(reader)
    assert seq == 4
    assert held == {"a": Held(3, 3, 30, 3), "b": Held(1, 2, 5, 0)}
    assert held == _from_scratch(path)
    _add(writer, "b", 4, hlc=7)
    _add(writer, "b", 1, hlc=3)  # the hole fills; another stays above 2
    _add(writer, "a", 4, hlc=40)
    seq, held = tally.update(reader)
    assert seq == 7
    assert held == {"a": Held(4, 4, 40, 4), "b": Held(3, 4, 7, 2)}
    assert held == _from_scratch(path)
    _add(writer, "b", 3, hlc=6)
    assert tally.update(reader)[1]["b"] == Held(4, 4, 7, 4)
    assert tally.update(reader)[1] == _from_scratch(path)
    writer.close()
    reader.close()


def test_only_new_rows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writer = open_events_db(path)
    reader = open_reader(path)
    tally = OriginTally()
    for n in range(1, 6):
        _add(writer, "a", n)
    tally.update(reader)
    traced: list[str] = []
    reader.set_trace_callback(traced.append)
    _add(writer, "a", 6)
    assert tally.update(reader)[1]["a"].events == 6
    grouped = [q for q in traced if "GROUP BY" in q]
    assert grouped
    assert all("seq > 5" in q for q in grouped)
    writer.close()
    reader.close()


def test_another_table_at_the_same_path_is_tallied_afresh(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    writer = open_events_db(path)
    for n in range(1, 4):
        _add(writer, "a", n)
    writer.close()
    tally = OriginTally()
    with_three = open_reader(path)
    assert tally.update(with_three)[1]["a"].events == 3
    with_three.close()
    # The instance made afresh: as many rows or more, but other events.
    shutil.move(path, tmp_path / "old.db")
    writer = open_events_db(path)
    for n in range(1, 5):
        _add(writer, "c", n)
    reader = open_reader(path)
    assert tally.update(reader)[1] == {"c": Held(4, 4, 1, 4)}
    writer.close()
    reader.close()
