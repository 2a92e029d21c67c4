from __future__ import annotations

from typing import TYPE_CHECKING

from clare.store import replies
from clare.store.eventlog import open_events_db

if TYPE_CHECKING:
    from pathlib import Path


def test_stored_finds_only_answered_ids_across_lookup_chunks(tmp_path: Path) -> None:
    conn = open_events_db(tmp_path / "events.db")
    answers = [(f"c-{i}", f"answer {i}".encode()) for i in range(0, 2 * replies.LOOKUP_CHUNK, 2)]
    replies.store(conn, answers, at_ms=1000)
    asked = [f"c-{i}" for i in range(2 * replies.LOOKUP_CHUNK)] + ["c-0"]  # a repeat too
    found = replies.stored(conn, asked)
    assert found == dict(answers)


def test_store_keeps_the_newest_answer_and_prune_forgets_old_ones(tmp_path: Path) -> None:
    conn = open_events_db(tmp_path / "events.db")
    replies.store(conn, [("old", b"1"), ("kept", b"2")], at_ms=1000)
    replies.store(conn, [("kept", b"3")], at_ms=5000)
    assert replies.prune(conn, older_than_ms=2000) == 1
    assert replies.stored(conn, ["old", "kept"]) == {"kept": b"3"}
    assert replies.stored(conn, []) == {}
