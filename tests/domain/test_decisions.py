from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import NotFound, ProtocolError, UsageError
from clare.core.events import Event, encode_body
from clare.domain.decisions import (
    DecisionAsked,
    DecisionMade,
    DecisionSettled,
    PermissionAsk,
    apply_decision,
)
from clare.domain.registry import refold
from clare.domain.tasks import EventMeta
from clare.nodes.writer_ingest import remote_event_wire
from clare.store import eventlog
from tests.helpers import call, make_core

if TYPE_CHECKING:
    from pathlib import Path

    from clare.domain.events import DomainEvent
    from clare.nodes.writer_core import WriterCore

OWNER = "00000000-0000-4000-8000-000000000001"
PEER = "00000000-0000-4000-8000-000000000002"
THIRD = "00000000-0000-4000-8000-000000000003"
ASKED = DecisionAsked(
    decision="d-1", session="s1", host=OWNER, tool="Bash", summary="rm -rf build", asked_at=5
)


def meta(n: int, origin: str = OWNER) -> EventMeta:
    return EventMeta(f"e{n}-{origin[-1]}", n << 16, origin, n)


def fold(*steps: tuple[DomainEvent, EventMeta]) -> PermissionAsk:
    state = None
    for event, m in steps:
        state = apply_decision(state, event, m)
    assert isinstance(state, PermissionAsk)
    return state


def test_an_ask_is_pending_until_answered() -> None:
    state = fold((ASKED, meta(1)))
    assert state.pending
    assert state.state == "pending"
    assert (state.tool, state.summary, state.session) == ("Bash", "rm -rf build", "s1")


def test_the_first_answer_wins_and_a_different_later_one_is_a_conflict() -> None:
    state = fold(
        (ASKED, meta(1)),
        (DecisionMade(decision="d-1", behavior="allow", host=PEER), meta(2, PEER)),
        (DecisionMade(decision="d-1", behavior="deny", reason="no", host=THIRD), meta(3, THIRD)),
        (DecisionMade(decision="d-1", behavior="allow", host=THIRD), meta(4, THIRD)),
    )
    assert state.state == "allowed"
    assert state.winner is not None
    assert state.winner.origin == PEER
    # The agreeing answer is no conflict; the one that said otherwise is kept.
    assert [(c.outcome, c.reason) for c in state.conflicts] == [("deny", "no")]


def test_a_settlement_by_the_sessions_host_beats_an_answer_that_came_too_late() -> None:
    # The answer was stamped first, but reached the session's host after its hook gave up.
    state = fold(
        (ASKED, meta(1)),
        (DecisionMade(decision="d-1", behavior="allow", host=PEER), meta(2, PEER)),
        (DecisionSettled(decision="d-1", how="expired"), meta(3)),
    )
    assert state.state == "expired"
    assert [c.outcome for c in state.conflicts] == ["allow"]


def test_a_settlement_from_another_host_counts_for_nothing() -> None:
    state = fold((ASKED, meta(1)), (DecisionSettled(decision="d-1", how="ended"), meta(2, PEER)))
    assert state.pending


def test_an_answer_relayed_before_its_ask_is_kept_and_counted_once_the_ask_arrives() -> None:
    early = apply_decision(
        None, DecisionMade(decision="d-1", behavior="deny", host=PEER), meta(5, PEER)
    )
    assert isinstance(early, PermissionAsk)
    assert not early.asked
    assert not early.pending
    # Refolded in order once the ask arrives (the projector does so for a late event).
    state = fold(
        (ASKED, meta(1)), (DecisionMade(decision="d-1", behavior="deny", host=PEER), meta(5, PEER))
    )
    assert state.state == "denied"


def test_a_body_with_an_overlong_summary_from_a_peer_is_refused() -> None:
    with pytest.raises(ProtocolError):
        DecisionAsked(decision="d-1", session="s", host=OWNER, tool="Bash", summary="x" * 5000)


# --- order independence -------------------------------------------------------------------

_ANSWERS = st.lists(
    st.tuples(
        st.sampled_from([OWNER, PEER, THIRD]),
        st.sampled_from(["allow", "deny", "terminal", "ended", "expired"]),
        st.integers(min_value=2, max_value=40),
    ),
    max_size=8,
    unique_by=lambda a: (a[0], a[2]),  # one host's clock never stamps two events alike
)


def _stored(answers: list[tuple[str, str, int]]) -> list[Event]:
    events = [Event(1, "ask", OWNER, 1, 1 << 16, ASKED.kind, encode_body(ASKED.to_body()))]
    for i, (origin, outcome, tick) in enumerate(answers):
        event: DomainEvent
        if outcome in ("allow", "deny"):
            event = DecisionMade(decision="d-1", behavior=outcome, host=origin)
        else:
            event = DecisionSettled(decision="d-1", how=outcome)
        body = encode_body(event.to_body())
        events.append(Event(i + 2, f"ev{i}", origin, i + 2, tick << 16, event.kind, body))
    return events


@given(_ANSWERS, st.randoms())
def test_the_outcome_is_the_same_in_any_arrival_order(
    answers: list[tuple[str, str, int]], rnd: object
) -> None:
    events = _stored(answers)
    shuffled = list(events)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = refold("d:d-1", events), refold("d:d-1", shuffled)
    assert isinstance(a, PermissionAsk)
    assert isinstance(b, PermissionAsk)
    assert (a.state, a.winner, a.conflicts) == (b.state, b.winner, b.conflicts)


@given(_ANSWERS)
def test_an_owners_settlement_always_stands_and_otherwise_the_first_answer(
    answers: list[tuple[str, str, int]],
) -> None:
    state = refold("d:d-1", _stored(answers))
    assert isinstance(state, PermissionAsk)
    ordered = sorted(
        ((tick, origin, outcome) for origin, outcome, tick in answers), key=lambda a: a[:2]
    )
    settled = [o for _t, origin, o in ordered if o not in ("allow", "deny") and origin == OWNER]
    made = [o for _t, _origin, o in ordered if o in ("allow", "deny")]
    expected = settled[0] if settled else (made[0] if made else None)
    assert (state.winner.outcome if state.winner else None) == expected
    # Every answer that lost while saying something else is shown, none is dropped.
    if expected is not None:
        assert len(state.conflicts) == sum(1 for o in made if o != expected)


# --- deciders -------------------------------------------------------------------------------


@pytest.fixture
def core(tmp_path: Path) -> WriterCore:
    return make_core(tmp_path / "events.db", machine_id=OWNER)


def ask(core: WriterCore) -> str:
    result = call(core, "decision.ask", session="s1", tool="Bash", summary="ls", at=10)
    return str(result["decision"])


def test_an_ask_gets_an_id_and_can_be_answered_once(core: WriterCore) -> None:
    decision = ask(core)
    assert decision.startswith("d-")
    made = call(core, "decision.make", decision=decision, behavior="deny", reason="not now")
    assert (made["decision"], made["behavior"]) == (decision, "deny")
    with pytest.raises(UsageError, match="no longer pending: denied"):
        call(core, "decision.make", decision=decision, behavior="allow")


def test_an_answer_needs_a_known_decision_and_a_known_behavior(core: WriterCore) -> None:
    decision = ask(core)
    with pytest.raises(NotFound):
        call(core, "decision.make", decision="d-0000000000", behavior="allow")
    with pytest.raises(UsageError, match="allow or deny"):
        call(core, "decision.make", decision=decision, behavior="maybe")
    with pytest.raises(UsageError, match="cli or web"):
        call(core, "decision.make", decision=decision, behavior="allow", via="fax")


def test_settling_leaves_answered_ones_and_says_what_they_were(core: WriterCore) -> None:
    first, second = ask(core), ask(core)
    call(core, "decision.make", decision=first, behavior="allow")
    result = call(core, "decision.settle", decisions=[first, second], how="expired", at=20)
    assert result["settled"] == [second]
    assert result["outcomes"] == [
        {"decision": first, "state": "allowed", "behavior": "allow", "reason": ""}
    ]
    again = call(core, "decision.settle", decisions=[second], how="terminal")
    assert again["settled"] == []


def test_only_the_sessions_host_settles(tmp_path: Path) -> None:
    owner = make_core(tmp_path / "a.db", machine_id=OWNER)
    decision = ask(owner)
    other = make_core(tmp_path / "b.db", machine_id=PEER)
    synced = [remote_event_wire(e) for e in eventlog.read_after(owner.conn, 0, 99)]
    call(other, "ingest", events=synced)
    assert call(other, "decision.settle", decisions=[decision], how="ended")["settled"] == []
    # Yet the peer may answer it.
    call(other, "decision.make", decision=decision, behavior="allow")
