"""Decisions: a session's permission prompt, answered from any host.

A ``PermissionRequest`` hook on the session's host records the ask
(``DecisionAsked``), then waits. A person on any host allows or denies it
(``DecisionMade``); the session's own host may instead find it settled
otherwise (``DecisionSettled``: answered at the terminal, the session ended,
or the hook stopped waiting).

Who wins, on every host alike, from the same set of events:

- A settlement by the session's host wins over every answer. That host records
  one only when its writer holds no answer (the decider refuses otherwise), so
  a settlement means no answer reached the waiting hook in time; an answer that
  arrives later is kept as a conflict ("came too late"), never shown as applied.
- Otherwise the first answer in the agreed order ``(hlc, origin)`` wins; a later
  answer that says something else is kept visible as a conflict.

The fold only gathers answers and settlements (kept in order); the outcome is
computed from them, so it cannot depend on the order events arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from clare.core import ids
from clare.core.errors import NotFound, UsageError
from clare.domain.commands import (
    MAX_INPUT,
    MAX_REASON,
    MAX_SUMMARY,
    DecisionAsk,
    DecisionMake,
    DecisionSettle,
)
from clare.domain.decide import Context, Decision, StateReader, decider
from clare.domain.events import DomainEvent, register
from clare.domain.lifecycle_events import Bounded
from clare.domain.messages import EntityReader

if TYPE_CHECKING:
    from clare.domain.tasks import EventMeta

ENTITY_PREFIX = "d:"
BEHAVIORS = ("allow", "deny")
#: How an ask ends without an answer from Clare; only the session's host records these.
SETTLEMENTS = ("terminal", "ended", "expired")
VIAS = ("cli", "web")
#: Answers and settlements one decision keeps: more can only come from a misbehaving peer.
MAX_ANSWERS = 32
#: What ``state`` says for each outcome.
STATES = {
    "allow": "allowed",
    "deny": "denied",
    "terminal": "answered at the terminal",
    "ended": "session ended",
    "expired": "expired",
}


@dataclass(frozen=True)
class DecisionAsked(Bounded):
    """A session's permission dialog opened; its hook waits for an answer from any host."""

    kind: ClassVar[str] = "DecisionAsked"
    decision: str
    session: str
    host: str  # machine_id of the session's host, the only one that may settle it
    tool: str
    summary: str  # what is asked, one bounded line or few: a command, a file path
    tool_input: str = ""  # the tool's input as JSON, cut at MAX_INPUT
    suggestions: tuple[str, ...] = ()
    asked_at: int = 0  # ms since the epoch
    cwd: str = ""
    project: str = ""

    entity_field: ClassVar[str] = "decision"
    entity_prefix: ClassVar[str] = ENTITY_PREFIX
    max_lengths: ClassVar[dict[str, int]] = {
        "decision": 64, "session": ids.MAX_SESSION_ID, "host": 64, "tool": 200,
        "summary": MAX_SUMMARY, "tool_input": MAX_INPUT, "cwd": 4096, "project": 64,
    }  # fmt: skip


@dataclass(frozen=True)
class DecisionMade(Bounded):
    """A person allowed or denied it, on ``host``, through the CLI or the web page."""

    kind: ClassVar[str] = "DecisionMade"
    decision: str
    behavior: str  # allow | deny
    reason: str = ""
    author: str = ""
    host: str = ""  # machine_id of the host it was made on
    via: str = "cli"  # cli | web
    at: int = 0

    entity_field: ClassVar[str] = "decision"
    entity_prefix: ClassVar[str] = ENTITY_PREFIX
    max_lengths: ClassVar[dict[str, int]] = {
        "decision": 64, "behavior": 16, "reason": MAX_REASON, "author": 200, "host": 64,
        "via": 16,
    }  # fmt: skip


@dataclass(frozen=True)
class DecisionSettled(Bounded):
    """The session's host saw the ask end without an answer: ``how`` is one of SETTLEMENTS."""

    kind: ClassVar[str] = "DecisionSettled"
    decision: str
    how: str
    at: int = 0

    entity_field: ClassVar[str] = "decision"
    entity_prefix: ClassVar[str] = ENTITY_PREFIX
    max_lengths: ClassVar[dict[str, int]] = {"decision": 64, "how": 16}


for _cls in (DecisionAsked, DecisionMade, DecisionSettled):
    register(_cls)


@dataclass(frozen=True)
class Answer:
    """One answer or settlement, as folded: ``outcome`` is a behavior or a settlement."""

    event_id: str
    outcome: str
    origin: str  # the host whose writer recorded it
    hlc: int
    at: int = 0
    reason: str = ""
    author: str = ""
    via: str = ""

    @property
    def made(self) -> bool:
        return self.outcome in BEHAVIORS


@dataclass(frozen=True)
class PermissionAsk:
    """A decision's folded state. ``asked`` is False while only answers have arrived
    (a peer may relay them before the ask itself)."""

    id: str
    asked: bool = False
    session: str = ""
    host: str = ""
    tool: str = ""
    summary: str = ""
    tool_input: str = ""
    suggestions: tuple[str, ...] = ()
    asked_at: int = 0
    asked_hlc: int = 0
    cwd: str = ""
    project: str = ""
    answers: tuple[Answer, ...] = field(default=())  # in the agreed order
    last_key: tuple[int, str] = (0, "")

    @property
    def winner(self) -> Answer | None:
        """The answer or settlement that stands (see the module's rules)."""
        settled = [a for a in self.answers if not a.made and self._by_owner(a)]
        if settled:
            return settled[0]
        made = [a for a in self.answers if a.made]
        return made[0] if made else None

    @property
    def conflicts(self) -> tuple[Answer, ...]:
        """Answers that did not stand and said something else than what did."""
        won = self.winner
        if won is None:
            return ()
        return tuple(
            a for a in self.answers if a.made and a is not won and a.outcome != won.outcome
        )

    @property
    def state(self) -> str:
        won = self.winner
        return "pending" if won is None else STATES[won.outcome]

    @property
    def pending(self) -> bool:
        return self.asked and self.winner is None

    def _by_owner(self, answer: Answer) -> bool:
        # Unknown owner (the ask has not arrived): keep it; once known, only the owner counts.
        return not self.host or answer.origin == self.host


def apply_decision(
    current: PermissionAsk | None, event: DomainEvent, meta: EventMeta
) -> PermissionAsk | None:
    """Fold one decision's events (in ``(hlc, origin)`` order)."""
    state = current or PermissionAsk(id=getattr(event, "decision", ""))
    if isinstance(event, DecisionAsked):
        if state.asked:
            return replace(state, last_key=meta.key)  # asked twice (a replay): first counts
        return replace(
            state,
            asked=True,
            session=event.session,
            host=event.host,
            tool=event.tool,
            summary=event.summary,
            tool_input=event.tool_input,
            suggestions=event.suggestions,
            asked_at=event.asked_at,
            asked_hlc=meta.hlc,
            cwd=event.cwd,
            project=event.project,
            last_key=meta.key,
        )
    if isinstance(event, DecisionMade | DecisionSettled):
        if len(state.answers) >= MAX_ANSWERS:
            return replace(state, last_key=meta.key)
        if isinstance(event, DecisionMade):
            answer = Answer(
                meta.id, event.behavior, meta.origin, meta.hlc, event.at, event.reason,
                event.author, event.via,
            )  # fmt: skip
        else:
            answer = Answer(meta.id, event.how, meta.origin, meta.hlc, event.at)
        return replace(state, answers=(*state.answers, answer), last_key=meta.key)
    return current


# --- ops --------------------------------------------------------------------------------


def state_decision(state: StateReader, decision_id: str) -> PermissionAsk | None:
    """The folded decision; None when unknown or when the reader cannot fold decisions."""
    if not isinstance(state, EntityReader):
        return None
    found = state.get(ENTITY_PREFIX + decision_id)
    return found if isinstance(found, PermissionAsk) and found.asked else None


@decider(DecisionAsk)
def _decision_ask(cmd: DecisionAsk, state: StateReader, ctx: Context) -> Decision:
    """Record a permission dialog of a session on this host; returns the new decision's id."""
    if not cmd.session:
        raise UsageError("an ask needs the session id")
    decision_id = ids.new_decision_id()
    event = DecisionAsked(
        decision=decision_id,
        session=cmd.session,
        host=ctx.machine_id,
        tool=cmd.tool,
        summary=cmd.summary,
        tool_input=cmd.tool_input,
        suggestions=cmd.suggestions,
        asked_at=cmd.at,
        cwd=cmd.cwd,
        project=cmd.project,
    )
    return Decision([event], {"decision": decision_id})


def _outcome(found: PermissionAsk) -> dict[str, Any]:
    won = found.winner
    return {
        "decision": found.id,
        "state": found.state,
        "behavior": won.outcome if won is not None and won.made else "",
        "reason": won.reason if won is not None else "",
    }


@decider(DecisionMake)
def _decision_make(cmd: DecisionMake, state: StateReader, ctx: Context) -> Decision:
    """Allow or deny a pending decision, from this host."""
    if cmd.behavior not in BEHAVIORS:
        raise UsageError(f"a decision is allow or deny, not {cmd.behavior!r}")
    if cmd.via not in VIAS:
        raise UsageError(f"a decision is made through {' or '.join(VIAS)}, not {cmd.via!r}")
    found = state_decision(state, cmd.decision)
    if found is None:
        raise NotFound(f"no decision {cmd.decision}: see `clare decision list`")
    if not found.pending:
        raise UsageError(f"decision {cmd.decision} is no longer pending: {found.state}")
    event = DecisionMade(
        decision=cmd.decision,
        behavior=cmd.behavior,
        reason=cmd.reason,
        author=cmd.author,
        host=ctx.machine_id,
        via=cmd.via,
        at=cmd.at,
    )
    return Decision([event], {"decision": cmd.decision, "behavior": cmd.behavior})


@decider(DecisionSettle)
def _decision_settle(cmd: DecisionSettle, state: StateReader, ctx: Context) -> Decision:
    """Settle this host's pending asks that ended without an answer.

    Those already answered are left as they are, and their outcome is returned
    (``outcomes``): a hook that gives up waiting learns of an answer that came
    in between its last look and this command, and can still pass it on.
    """
    how, at = cmd.how, cmd.at
    if how not in SETTLEMENTS:
        raise UsageError(f"a decision settles as {', '.join(SETTLEMENTS)}, not {how!r}")
    events: list[DomainEvent] = []
    outcomes: list[dict[str, Any]] = []
    for decision_id in cmd.decisions:
        found = state_decision(state, decision_id)
        if found is None or found.host != ctx.machine_id:
            continue  # unknown here, or another host's to settle
        if found.pending:
            events.append(DecisionSettled(decision=decision_id, how=how, at=at))
        else:
            outcomes.append(_outcome(found))
    settled = [e.decision for e in events if isinstance(e, DecisionSettled)]
    return Decision(events, {"settled": settled, "outcomes": outcomes})
