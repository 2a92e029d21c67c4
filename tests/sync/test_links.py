from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clare.sync.links import Seat, choose_links


def seats(n: int) -> list[Seat]:
    return [Seat(f"k{i:03}", f"o{i}") for i in range(n)]


def test_small_fleets_are_a_full_mesh() -> None:
    members = seats(5)
    for m in members:
        assert choose_links(members, m.key, 8) == {s.key for s in members} - {m.key}


def test_a_large_fleet_keeps_each_host_within_the_bound_and_connected() -> None:
    members = seats(100)
    links = {m.key: choose_links(members, m.key, 8) for m in members}
    assert max(len(v) for v in links.values()) <= 8
    reached, frontier = {"k000"}, ["k000"]
    hops = 0
    while frontier:
        frontier = [k for f in frontier for k in links[f] if k not in reached]
        reached.update(frontier)
        hops += 1 if frontier else 0
    assert len(reached) == 100
    assert hops <= 10


@given(st.integers(1, 60), st.integers(1, 12))
def test_the_choice_is_symmetric(n: int, bound: int) -> None:
    members = seats(n)
    links = {m.key: choose_links(members, m.key, bound) for m in members}
    for a, chosen in links.items():
        for b in chosen:
            assert a in links[b]


def test_introductions_are_always_linked_both_ways() -> None:
    members = [*seats(40), Seat("zz", "new", frozenset({"o7"}))]
    assert "zz" in choose_links(members, "k007", 4)
    assert "k007" in choose_links(members, "zz", 4)


def test_a_non_member_links_to_no_one() -> None:
    assert choose_links(seats(3), "stranger", 8) == set()
