from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.sync.vector import Range, SeqSet, chunks, count, merge, missing, subtract


def test_range_rejects_empty_and_non_positive() -> None:
    with pytest.raises(ValueError, match="bad range"):
        Range("a", 0, 3)
    with pytest.raises(ValueError, match="bad range"):
        Range("a", 5, 4)
    assert Range("a", 4, 4).count == 1


def test_missing_lists_what_the_other_side_holds_beyond_us() -> None:
    assert missing({"a": 3, "b": 9}, {"a": 5, "b": 2, "c": 1}) == [
        Range("a", 4, 5),
        Range("c", 1, 1),
    ]
    assert missing({"a": 5}, {"a": 5}) == []


def test_merge_is_the_pointwise_maximum() -> None:
    assert merge({"a": 3, "b": 1}, {"a": 2, "c": 4}) == {"a": 3, "b": 1, "c": 4}


def test_subtract_cuts_holes_and_keeps_order() -> None:
    ranges = [Range("a", 1, 10), Range("b", 1, 3)]
    taken = [Range("a", 3, 4), Range("a", 8, 20), Range("b", 2, 2), Range("c", 1, 9)]
    assert subtract(ranges, taken) == [
        Range("a", 1, 2),
        Range("a", 5, 7),
        Range("b", 1, 1),
        Range("b", 3, 3),
    ]


def test_chunks_bound_events_and_ranges() -> None:
    ranges = [Range("a", 1, 5), Range("b", 1, 1), Range("c", 7, 8)]
    assert list(chunks(ranges, 3, 10)) == [
        [Range("a", 1, 3)],
        [Range("a", 4, 5), Range("b", 1, 1)],
        [Range("c", 7, 8)],
    ]
    assert list(chunks(ranges, 100, 2)) == [
        [Range("a", 1, 5), Range("b", 1, 1)],
        [Range("c", 7, 8)],
    ]


def test_chunks_are_lazy_over_a_million_events() -> None:
    first = next(chunks([Range("a", 1, 1_000_000)], 512, 1024))
    assert first == [Range("a", 1, 512)]


def test_seqset_holds_seqs_above_a_gap_without_raising_the_vector() -> None:
    seqs = SeqSet({"a": 2})
    assert seqs.add("a", 5)
    assert seqs.add("a", 4)
    assert seqs.vector() == {"a": 2}
    assert seqs.has("a", 5)
    assert not seqs.has("a", 3)
    assert seqs.lacking({"a": 6}) == [Range("a", 3, 3), Range("a", 6, 6)]
    assert seqs.add("a", 3)
    assert seqs.vector() == {"a": 5}
    assert seqs.held_above("a") == []
    assert not seqs.add("a", 4)


def test_seqset_raise_top_absorbs_parked_seqs() -> None:
    seqs = SeqSet()
    seqs.add("a", 3)
    seqs.add("a", 6)
    seqs.raise_top("a", 4)
    assert seqs.vector() == {"a": 4}
    assert seqs.held_above("a") == [6]
    seqs.raise_top("a", 5)
    assert seqs.vector() == {"a": 6}


@given(st.lists(st.integers(1, 40), max_size=60), st.integers(0, 45))
def test_seqset_matches_a_plain_set(seqs: list[int], other_top: int) -> None:
    tracked = SeqSet()
    plain: set[int] = set()
    for seq in seqs:
        assert tracked.add("a", seq) == (seq not in plain)
        plain.add(seq)
    top = 0
    while top + 1 in plain:
        top += 1
    assert tracked.top("a") == top
    lacking = tracked.lacking({"a": other_top})
    assert count(lacking) == len(set(range(1, other_top + 1)) - plain)
    for r in lacking:
        assert all(seq not in plain for seq in range(r.first, r.last + 1))
