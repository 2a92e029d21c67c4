"""The per-origin contiguous walk equals a naive reference over any set of seqs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import given
from hypothesis import strategies as st

from clare.core.seqs import contiguous_top

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

seq_sets = st.frozensets(st.integers(min_value=1, max_value=60), max_size=40)


def _rows(seqs: Iterable[int]) -> list[tuple[int]]:
    """Seqs as the ``(seq,)`` rows a cursor yields."""
    return [(s,) for s in seqs]


def _naive(held: frozenset[int]) -> int:
    """The highest n with every seq 1..n held."""
    n = 0
    while n + 1 in held:
        n += 1
    return n


def test_walk_stops_at_the_first_gap() -> None:
    assert contiguous_top(0, []) == 0
    assert contiguous_top(0, _rows([1, 2, 3, 5])) == 3
    assert contiguous_top(0, _rows([2, 3])) == 0
    assert contiguous_top(4, _rows([5, 6, 8])) == 6


def test_walk_reads_no_further_than_the_gap() -> None:
    read: list[int] = []

    def rows() -> Iterator[tuple[int]]:
        for s in (1, 2, 4, 5, 6):
            read.append(s)
            yield (s,)

    assert contiguous_top(0, rows()) == 2
    assert read == [1, 2, 4]


@given(seq_sets)
def test_walk_from_zero_equals_the_naive_reference(held: frozenset[int]) -> None:
    assert contiguous_top(0, _rows(sorted(held))) == _naive(held)


@given(seq_sets, st.integers(min_value=0, max_value=60))
def test_walk_from_any_known_top_equals_the_naive_reference(
    held: frozenset[int], known: int
) -> None:
    # A top already known means every seq up to it is held.
    held = held | frozenset(range(1, known + 1))
    start = min(known, _naive(held))
    assert contiguous_top(start, _rows(sorted(s for s in held if s > start))) == _naive(held)
