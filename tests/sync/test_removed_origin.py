"""A removed host's later events: refused by every store, never asked for or passed on."""

from __future__ import annotations

from clare.sync.messages import Push, Request

from .simnet import SimNet


def test_events_of_a_removed_origin_after_its_removal_are_refused_and_not_asked_again() -> None:
    net = SimNet(["a", "b", "e"])
    net.start()
    for _ in range(3):
        net.hosts["e"].write()
    net.settle()
    # a and b put e out: what e makes from now on is refused by their stores.
    removal = max(net.hosts[h].log.clock.now() for h in ("a", "b"))
    for name in ("a", "b"):
        net.hosts[name].log.removed_origins["e"] = removal
    net.advance(10)
    net.cut.add(frozenset(("a", "e")))  # e reaches a only through b, which relays...
    for _ in range(4):
        net.hosts["e"].write()
    net.drain()
    for _ in range(30):  # many anti-entropy rounds
        net.advance(100)
        net.drain()
    mark = len(net.sent)
    for _ in range(30):
        net.advance(100)
        net.drain()
    for name in ("a", "b"):
        assert net.hosts[name].log.vector()["e"] == 3
        assert not [
            ev for ev in net.hosts[name].log.events() if ev.origin_seq > 3 and ev.origin == "e"
        ]
    # Refused once, then never asked of anyone again.
    asked_late = [
        s for src, s in net.sent[mark:]
        if src in ("a", "b") and isinstance(s.message, Request)
        and any(r.origin == "e" and r.last > 3 for r in s.message.ranges)
    ]  # fmt: skip
    assert asked_late == []
    relayed = [
        s for src, s in net.sent
        if src == "b" and s.peer == "a" and isinstance(s.message, Push)
        and any(ev.origin == "e" and ev.origin_seq > 3 for ev in s.message.events)
    ]  # fmt: skip
    assert relayed == []
    status = {s.name: s for s in net.hosts["a"].node.status()}  # type: ignore[union-attr]
    assert status["b"].we_lack == 0
