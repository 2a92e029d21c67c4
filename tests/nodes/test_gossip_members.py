from __future__ import annotations

from typing import TYPE_CHECKING

from clare.core.events import Event, encode_body
from clare.domain.fleet import MemberJoined, MemberRemoved
from clare.nodes.gossip_members import Membership
from clare.runtime.config import Config, Peer
from clare.sync.peers import AllowList

if TYPE_CHECKING:
    from clare.domain.events import DomainEvent

ME = "m" * 40
CONFIG = Config(machine_id="00000000-0000-4000-8000-000000000001", name="me", sync_max_links=2)


def _event(seq: int, domain: DomainEvent) -> Event:
    return Event(seq, f"id{seq}", "o", seq, seq << 16, domain.kind, encode_body(domain.to_body()))


def _key(c: str) -> str:
    return c * 40


def test_links_are_hand_made_peers_plus_chosen_members_less_removed_keys() -> None:
    members = Membership(CONFIG, ME)
    events = [_event(1, MemberJoined(ME, CONFIG.machine_id, "me", "tcp://me:1"))]
    events += [
        _event(i + 2, MemberJoined(_key(c), f"o-{c}", c, f"tcp://{c}:1"))
        for i, c in enumerate("abcdef")
    ]
    assert members.fold(events)
    assert not members.fold([_hand()])  # other kinds change nothing
    hand = Peer("hand", "tcp://hand:1", _key("h"))
    peers = members.peers([hand])
    assert peers[0] == hand
    assert 1 + 2 <= len(peers) <= 1 + 2  # the bound of 2 chosen members, and the hand-made one
    removed = peers[1]
    members.fold([_event(100, MemberRemoved(removed.key, "x", removed.name))])
    assert removed not in members.peers([hand])
    allowed = members.allowed(members.peers([hand]))
    assert {p.key for p in allowed} == {hand.key} | {_key(c) for c in "abcdef"} - {removed.key}
    allow = AllowList()
    allow.update(allowed, members.banned())
    allow.guests = True
    assert allow.admit(removed.key, "10.0.0.9", 0.0)[0] is None  # not even as a guest
    assert allow.admit(_key("z"), "10.0.0.9", 0.0)[0] == "join:" + _key("z")
    assert not allow.allows_name(removed.name)


def _hand() -> Event:
    return Event(99, "id99", "o", 99, 99 << 16, "TaskNoted", b"\x80")


def test_a_new_host_links_to_its_inviter_before_it_knows_it_is_a_member() -> None:
    members = Membership(CONFIG, ME)
    inviter = MemberJoined(_key("a"), "o-a", "a", "tcp://a:1", introduced_by=CONFIG.machine_id)
    members.fold([_event(1, inviter)])
    assert [p.name for p in members.peers([])] == ["a"]
