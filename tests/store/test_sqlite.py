"""The SQLite edge: which failures are a full disk, which are damage, and which neither."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import DatabaseDamaged, DiskFull, StorageError
from clare.store import views
from clare.store.sqlite import (
    integrity_problems,
    is_damage,
    open_reader,
    open_writer,
    reading,
    transaction,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_a_full_database_is_disk_full_and_not_damage(tmp_path: Path) -> None:
    conn = open_writer(tmp_path / "x.db", durable=True)
    conn.execute("CREATE TABLE t (b BLOB)")
    # SQLite's own limit on pages fails a write as a full disk does (SQLITE_FULL).
    conn.execute("PRAGMA max_page_count = 8")
    with pytest.raises(DiskFull, match="disk is full") as caught, transaction(conn):
        conn.execute("INSERT INTO t VALUES (zeroblob(100000))")
    assert not is_damage(caught.value)
    conn.close()


def test_a_read_only_database_is_a_plain_storage_error(tmp_path: Path) -> None:
    conn = open_writer(tmp_path / "x.db", durable=True)
    conn.execute("CREATE TABLE t (n)")
    conn.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError) as caught, transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert type(caught.value) is StorageError
    assert not is_damage(caught.value)
    conn.close()


def test_a_file_that_is_not_a_database_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(b"not a database at all" * 500)
    with pytest.raises(DatabaseDamaged) as caught:
        open_writer(path, durable=True)
    assert is_damage(caught.value)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError) as raw_error:
        raw.execute("SELECT * FROM sqlite_master")
    assert is_damage(raw_error.value)
    raw.close()


def test_only_damage_sets_the_views_aside(tmp_path: Path) -> None:
    path = tmp_path / "views.db"
    conn, moved = views.open_or_replace(path)
    assert moved is None
    conn.close()
    path.write_bytes(b"garbage" * 1000)
    conn, moved = views.open_or_replace(path)
    assert moved is not None
    assert moved.exists()
    conn.close()


def test_reading_raises_our_storage_error_and_tells_damage_apart(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    open_writer(path, durable=True).close()
    conn = open_reader(path, busy_timeout_ms=50)
    expected = pytest.raises(StorageError, match="cannot read the rows: no such table")
    with expected as caught, reading("the rows"):
        conn.execute("SELECT * FROM nothing_here")
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
    assert not isinstance(caught.value, DatabaseDamaged)
    conn.close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database at all" * 500)
    assert integrity_problems(bad)  # damage is reported, not raised
    assert integrity_problems(path) == []
