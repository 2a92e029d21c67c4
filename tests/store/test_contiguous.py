"""The events table's contiguous walk and version vector equal a naive reference."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clare.store import eventlog
from clare.store.eventlog import open_events_db
from clare.store.sqlite import open_reader

if TYPE_CHECKING:
    from pathlib import Path

# Arrivals: (origin, origin_seq) in the order they were committed.
arrivals = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(min_value=1, max_value=30)),
    max_size=60,
    unique=True,
)


def _naive(held: set[int]) -> int:
    n = 0
    while n + 1 in held:
        n += 1
    return n


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrivals, st.integers(min_value=0, max_value=60))
def test_walk_and_vector_equal_the_naive_reference(
    tmp_path: Path, order: list[tuple[str, int]], upto: int
) -> None:
    path = tmp_path / f"{uuid.uuid4()}.db"
    writer = open_events_db(path)
    for origin, origin_seq in order:
        writer.execute(
            "INSERT INTO events (id, origin, origin_seq, hlc, kind, entity, body)"
            " VALUES (?, ?, ?, 1, 'TaskNoted', 't-1', x'80')",
            (str(uuid.uuid4()), origin, origin_seq),
        )
    reader = open_reader(path)
    try:
        held = {o: {s for oo, s in order if oo == o} for o in "abc"}
        assert eventlog.version_vector(reader) == {o: _naive(s) for o, s in held.items() if s}
        for origin in "abc":
            # The rows committed up to local seq ``upto`` are the first ``upto`` arrivals.
            early = {s for o, s in order[:upto] if o == origin}
            assert eventlog.contiguous_after(reader, origin, 0, upto) == _naive(early)
            top = _naive(held[origin])
            for known in (0, top // 2, top):
                assert eventlog.contiguous_after(reader, origin, known) == top
    finally:
        reader.close()
        writer.close()
