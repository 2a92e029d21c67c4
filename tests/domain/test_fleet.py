"""The fleet's membership through the writer: invitations work once, removals last."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import NotFound, PeerRefused, UsageError
from clare.domain.fleet import Fleet, MemberJoined, MemberRemoved, apply_fleet
from clare.domain.tasks import EventMeta
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from clare.sync.invite import secret_hash
from tests.helpers import Clock, call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

A = "00000000-0000-4000-8000-00000000000a"
B = "00000000-0000-4000-8000-00000000000b"
KEY_A = "a" * 40
KEY_B = "b" * 40
SECRET = b"s" * 32


def _invite(core: WriterCore, invite: str = "inv1", ttl_ms: int = 60_000) -> int:
    expires = time.time_ns() // 1_000_000 + ttl_ms
    call(
        core, "fleet.invite", invite=invite, secret_sha256=secret_hash(SECRET),
        expires_ms=expires, key=KEY_A, name="a", endpoint="tcp://127.0.0.1:1",
    )  # fmt: skip
    return expires


def _join(core: WriterCore, expires: int, **over: object) -> dict[str, object]:
    args: dict[str, object] = {
        "invite": "inv1", "secret_sha256": secret_hash(SECRET), "token_expires_ms": expires,
        "key": KEY_B, "origin": B, "name": "b", "endpoint": "tcp://127.0.0.1:2",
        "now_ms": time.time_ns() // 1_000_000,
    }  # fmt: skip
    args.update(over)
    return call(core, "fleet.join", **args)


def test_the_first_invitation_founds_the_fleet_and_a_join_spends_it(tmp_path: Path) -> None:
    a = make_core(tmp_path / "a.db", machine_id=A)
    expires = _invite(a)
    assert [m.name for m in a.cache.fleet().members()] == ["a"]
    _join(a, expires)
    fleet = a.cache.fleet()
    assert [m.name for m in fleet.members()] == ["a", "b"]
    assert fleet.joined[KEY_B].introducers == {A}
    with pytest.raises(PeerRefused, match="used already"):
        _join(a, expires, key="c" * 40, origin="c-origin")


def test_forged_altered_and_expired_invitations_are_refused(tmp_path: Path) -> None:
    a = make_core(tmp_path / "a.db", machine_id=A)
    expires = _invite(a)
    with pytest.raises(PeerRefused, match="does not match"):
        _join(a, expires, secret_sha256=secret_hash(b"x" * 32))
    with pytest.raises(PeerRefused, match="altered"):
        _join(a, expires + 1)
    with pytest.raises(PeerRefused, match="not made here"):
        _join(a, expires, invite="nope")
    with pytest.raises(PeerRefused, match="expired"):
        _join(a, expires, now_ms=expires)
    assert len(a.cache.fleet().members()) == 1  # nobody got in


def test_a_removed_host_cannot_join_again_and_its_later_events_are_refused(
    tmp_path: Path,
) -> None:
    clock = Clock()  # one physical time for both hosts: b's later writes stamp later
    a = make_core(tmp_path / "a.db", machine_id=A, clock=clock)
    b = make_core(tmp_path / "b.db", machine_id=B, clock=clock)
    call(b, "project.add", name="before")
    before = [remote_event_wire(e) for e in eventlog.read_after(b.conn, 0, 10)]
    _join(a, _invite(a))
    call(a, "ingest", events=before)
    removed = call(a, "fleet.remove", host="b", reason="lost")
    assert removed["removed"] == "b"
    assert a.cache.fleet().removed_origins() == {B: removed["events"][0]["hlc"]}
    call(b, "project.add", name="after")  # stamped after the removal
    later = [remote_event_wire(e) for e in eventlog.read_after(b.conn, 1, 10)]
    result = call(a, "ingest", events=later)
    assert result["stored"] == 0
    assert [r["code"] for r in result["rejected"]] == ["removed"]
    with pytest.raises(PeerRefused, match="removed"):
        _join(a, _invite(a, "inv2"), invite="inv2")
    with pytest.raises(NotFound):
        call(a, "fleet.remove", host="b")
    with pytest.raises(UsageError, match="itself"):
        call(a, "fleet.remove", host="a")


def _meta(i: int, origin: str) -> EventMeta:
    return EventMeta(f"e{i}", i << 16, origin, i)


EVENTS = [
    MemberJoined(KEY_A, A, "a", "tcp://a:1"),
    MemberJoined(KEY_B, B, "b", "tcp://b:1", introduced_by=A, invite="i"),
    MemberJoined(KEY_A, A, "a", "tcp://a:2", introduced_by=B),
    MemberRemoved(KEY_B, B, "b", A),
    MemberJoined(KEY_B, B, "b", "tcp://b:2", introduced_by=A),
]


@given(st.permutations(range(len(EVENTS))))
def test_the_fleet_folds_alike_in_any_order(order: list[int]) -> None:
    def fold(indices: list[int]) -> Fleet:
        fleet = Fleet()
        for i in indices:
            fleet = apply_fleet(fleet, EVENTS[i], _meta(i + 1, A if i % 2 else B))
        return fleet

    expected = fold(list(range(len(EVENTS))))
    got = fold(order)
    assert got.members() == expected.members()
    assert got.removed == expected.removed
    assert got.spent == expected.spent
    assert [m.key for m in got.members()] == [KEY_A]  # a removal wins over any join
    assert got.joined[KEY_A].endpoint == "tcp://a:2"  # the later join's endpoint
