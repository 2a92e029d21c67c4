"""The projector's cache is bounded by the memory its states hold, not only their count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.domain.tasks import Task
from clare.store import views
from clare.store.maintenance import compare
from clare.store.projection import Projection
from clare.store.state_size import approx_bytes
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

KiB = 1024


def test_the_estimate_grows_with_the_text_a_state_holds() -> None:
    small = Task(id="t-1", project="p", title="x")
    large = Task(id="t-1", project="p", title="x", body="b" * 64 * KiB, tags=("a",) * 10)
    assert approx_bytes(large) - approx_bytes(small) >= 64 * KiB
    assert approx_bytes({"k": ["v" * 100]}) > 100
    assert approx_bytes(object()) > 0


def test_large_bodies_are_evicted_by_bytes_and_the_views_stay_right(tmp_path: Path) -> None:
    """10,000 cached states with large bodies once held 603 MB."""
    core = make_core(tmp_path / "e.db")
    call(core, "project.add", name="p")
    for n in range(40):
        call(core, "task.add", project="p", title=f"t{n}", body="b" * 60 * KiB)
    conn = views.open_views_db(tmp_path / "v.db")
    projection = Projection(conn, core.conn, cache_entries=10_000, cache_bytes=512 * KiB)
    projection.catch_up(batch=5)
    assert 0 < projection.cache_bytes <= 512 * KiB
    assert len(projection._cache) < 10
    # Evicted states are read back from the views when their entity changes again.
    tasks = [row[0] for row in conn.execute("SELECT id FROM tasks ORDER BY title")]
    for task in tasks[:5]:
        call(core, "task.note", task=task, text="more")
    projection.catch_up()
    rebuilt = views.open_views_db(tmp_path / "r.db")
    Projection(rebuilt, core.conn).rebuild()
    assert compare(conn, rebuilt)[0] == []
