"""The kept read-only connections: reused, bounded, and never reading a replaced file."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import NotFound, StorageError
from clare.store import views as views_mod
from clare.store.eventlog import open_events_db
from clare.store.views import open_views_db
from clare.web.readers import ReaderPool

if TYPE_CHECKING:
    from pathlib import Path


def _instance(home: Path) -> tuple[Path, Path]:
    views, events = home / "views.db", home / "events.db"
    open_views_db(views).close()
    open_events_db(events).close()
    return views, events


def test_a_pair_is_kept_and_handed_out_again(home: Path) -> None:
    pool = ReaderPool(*_instance(home), size=2)
    with pool.pair() as (views, _events):
        first = views
    with pool.pair() as (views, _events):
        assert views is first
        with pool.pair() as (inner, _e):  # a second read at the same time gets its own
            assert inner is not first
    assert pool.idle == 2
    pool.close()
    assert pool.idle == 0


def test_no_more_than_size_pairs_stay_open(home: Path) -> None:
    pool = ReaderPool(*_instance(home), size=1)
    with pool.pair() as (a, _), pool.pair() as (b, _):
        assert a is not b
    assert pool.idle == 1
    with pytest.raises(Exception, match="closed"):
        a.execute("SELECT 1")  # given back second, beyond the bound: closed
    pool.close()


def test_a_replaced_views_file_is_opened_afresh(home: Path) -> None:
    views_path, events_path = _instance(home)
    pool = ReaderPool(views_path, events_path)
    with pool.pair() as (views, _events):
        old = views
        assert views_mod.position(views) == 0
    # The views DB is set aside and rebuilt: a new file at the same path.
    shutil.move(views_path, home / "aside.db")
    rebuilt = open_views_db(views_path)
    views_mod.set_position(rebuilt, 7)
    rebuilt.close()
    with pool.pair() as (views, _events):
        assert views is not old
        assert views_mod.position(views) == 7
    pool.close()


def test_our_refusals_keep_the_pair_and_failures_close_it(home: Path) -> None:
    pool = ReaderPool(*_instance(home))

    def refuse() -> None:
        with pool.pair() as (views, _events):
            seen.append(views)
            raise NotFound("no task t-1")

    def fail() -> None:
        with pool.pair():
            raise ZeroDivisionError

    seen: list[object] = []
    with pytest.raises(NotFound):
        refuse()
    kept = seen[0]
    with pool.pair() as (views, _events):
        assert views is kept
    with pytest.raises(ZeroDivisionError):
        fail()
    assert pool.idle == 0
    with pytest.raises(Exception, match="closed"):
        kept.execute("SELECT 1")
    pool.close()


def test_no_database_yet_says_what_to_do(home: Path) -> None:
    pool = ReaderPool(home / "views.db", home / "events.db")
    with pytest.raises(StorageError, match="clare up"), pool.pair():
        pass
    assert not os.path.exists(home / "views.db")  # reading never creates it
