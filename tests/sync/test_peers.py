from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import UsageError
from clare.runtime.config import Peer
from clare.sync import peers
from clare.sync.peers import AllowList, changes


def test_allowed_keys_are_named_and_others_refused_and_remembered() -> None:
    allow = AllowList([Peer("laptop", "tcp://h:1", "K1")])
    assert allow.admit("K1", "10.0.0.2", 0.0) == ("laptop", False)
    assert allow.admit("K2", "10.0.0.3", 0.0) == (None, True)
    assert allow.admit("K2", "10.0.0.3", 30.0) == (None, False)  # logged once a minute
    assert allow.admit("K2", "10.0.0.3", 61.0) == (None, True)
    (refusal,) = allow.refusals.values()
    assert (refusal.count, refusal.first_at, refusal.last_at) == (3, 0.0, 61.0)


def test_a_stranger_with_a_new_key_each_time_is_logged_once_a_minute() -> None:
    allow = AllowList()
    lines = {}  # attempt number -> refusals it says went unlogged before it
    for i in range(240):  # two minutes, a new key every half second
        if allow.admit(f"K{i}", "10.0.0.9", i * 0.5)[1]:
            lines[i] = allow.take_unlogged()
    assert lines == {0: 0, 120: 119}


def test_refusal_lines_are_bounded_over_all_addresses() -> None:
    allow = AllowList()
    logged = [allow.admit(f"K{i}", f"10.0.{i // 250}.{i % 250}", i * 0.01)[1] for i in range(1000)]
    assert logged.count(True) == peers.MAX_LOG_LINES
    later = allow.admit("K-late", "10.9.9.9", 61.0)
    assert later == (None, True)


@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 50), st.floats(0, 30)),
        max_size=300,
    )
)
def test_refusal_logging_keeps_its_bounds(attempts: list[tuple[int, int, float]]) -> None:
    allow = AllowList()
    now = 0.0
    lines: list[tuple[float, str]] = []
    for address_no, key_no, step in attempts:
        now += step
        address = f"10.0.0.{address_no}"
        if allow.admit(f"K{key_no}", address, now)[1]:
            lines.append((now, address))
    for address in {a for _, a in lines}:
        times = [t for t, a in lines if a == address]
        assert all(b - a >= peers.LOG_EVERY_S for a, b in itertools.pairwise(times))
    span = now / peers.LOG_EVERY_S + 1
    assert len(lines) <= peers.MAX_LOG_LINES * span
    assert len(lines) + allow.unlogged == len(attempts)


def test_an_update_changes_who_is_admitted_at_once() -> None:
    allow = AllowList([Peer("laptop", "tcp://h:1", "K1")])
    allow.update([Peer("server", "tcp://h:2", "K2")])
    assert allow.admit("K1", "a", 0.0)[0] is None
    assert allow.name_of("K2") == "server"


def test_refusals_are_bounded() -> None:
    allow = AllowList()
    for i in range(peers.MAX_REFUSALS + 10):
        allow.admit(f"K{i}", "10.0.0.1", float(i))
    assert len(allow.refusals) == peers.MAX_REFUSALS
    assert ("10.0.0.1", "K0") not in allow.refusals


def test_changes_restart_peers_whose_endpoint_or_key_changed() -> None:
    a, b, c = (
        Peer("a", "tcp://h:1", "KA"),
        Peer("b", "tcp://h:2", "KB"),
        Peer("c", "tcp://h:3", "KC"),
    )
    moved = Peer("b", "tcp://h:9", "KB")
    dropped, started = changes([a, b], [a, moved, c])
    assert dropped == [b]
    assert started == [moved, c]
    assert changes([a], [a]) == ([], [])
    assert changes([a], []) == ([a], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.2:8766", "tcp://10.0.0.2:8766"),
        ("tcp://server.lan:8766", "tcp://server.lan:8766"),
        ("tcp://[fd00::2]:8766", "tcp://[fd00::2]:8766"),
    ],
)
def test_endpoints_are_normalised(text: str, expected: str) -> None:
    assert peers.check_endpoint(text) == expected


@pytest.mark.parametrize(
    "text", ["", "server", "tcp://server", "udp://h:1", "tcp://h:0", "tcp://h:70000", "tcp://a b:1"]
)
def test_bad_endpoints_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        peers.check_endpoint(text)


@pytest.mark.parametrize("text", ["", "-x", "a b", "x" * 65, "é"])
def test_bad_names_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        peers.check_name(text)
