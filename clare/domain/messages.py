"""Messages to agent sessions: recorded once, delivered to each recipient once.

A broadcast is one ``MessageSent`` naming its target (``all``, ``project:NAME``,
``group:NAME``, ``host:NAME`` or ``session:ID``). Who receives it is decided
when a session next takes a turn (the hook, ``clare pull``): a session matches
if the target names it, its project, its host or a group holding it or its host,
and the message has not expired. Each delivery is its own ``MessageDelivered``
on the message's entity, so the fold of one message knows every session that
got it, and a second delivery to the same session is refused as a no-op.

Recording who receives a message at delivery time, not at sending time, lets a
session that starts after a broadcast (within the message's time to live) still
get it, and needs no fan-out over every session of the fleet when sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from clare.core import ids
from clare.core.errors import NotFound, UsageError
from clare.domain.commands import MessageDeliver, MessageSend
from clare.domain.decide import (
    Context,
    Decision,
    StateReader,
    decider,
    need_live_session,
)
from clare.domain.events import DomainEvent, register
from clare.domain.targets import parse_target, reaches

#: Messages are entities ``m:<id>`` (``clare.domain.kinds.MESSAGES``).
MESSAGE_PREFIX = "m:"

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clare.domain.targets import Recipient
    from clare.domain.tasks import EventMeta

VIAS = ("hook", "pull", "tmux", "inbox")


@dataclass(frozen=True)
class MessageSent(DomainEvent):
    """A message for every session the target names; ``expires_at`` is ms since the epoch."""

    kind: ClassVar[str] = "MessageSent"
    message: str
    target: str
    text: str
    author: str = ""
    sent_at: int = 0
    expires_at: int = 0

    entity_field: ClassVar[str] = "message"
    entity_prefix: ClassVar[str] = MESSAGE_PREFIX


@dataclass(frozen=True)
class MessageDelivered(DomainEvent):
    """One session got the message: through its hook, ``clare pull``, its inbox socket or tmux."""

    kind: ClassVar[str] = "MessageDelivered"
    message: str
    session: str
    via: str = "hook"
    at: int = 0

    entity_field: ClassVar[str] = "message"
    entity_prefix: ClassVar[str] = MESSAGE_PREFIX


register(MessageSent)
register(MessageDelivered)


@dataclass(frozen=True)
class Delivery:
    session: str
    via: str
    at: int


@dataclass(frozen=True)
class Message:
    id: str
    target: str = ""
    text: str = ""
    author: str = ""
    sent_at: int = 0
    expires_at: int = 0
    sent_hlc: int = 0
    deliveries: tuple[Delivery, ...] = field(default=())
    last_key: tuple[int, str] = (0, "")

    def delivered_to(self, session: str) -> bool:
        return any(d.session == session for d in self.deliveries)


def apply_message(message: Message | None, event: DomainEvent, meta: EventMeta) -> Message | None:
    """Fold one message's events (in ``(hlc, origin)`` order).

    A delivery may arrive from a peer before the message itself: it is kept on
    a placeholder, which the ``MessageSent`` then fills in.
    """
    current = message or Message(id=getattr(event, "message", ""))
    if isinstance(event, MessageSent):
        return replace(
            current,
            target=event.target,
            text=event.text,
            author=event.author,
            sent_at=event.sent_at,
            expires_at=event.expires_at,
            sent_hlc=meta.hlc,
            last_key=meta.key,
        )
    if isinstance(event, MessageDelivered):
        if current.delivered_to(event.session):
            return replace(current, last_key=meta.key)  # two hosts delivered it: first counts
        delivery = Delivery(event.session, event.via, event.at)
        return replace(current, deliveries=(*current.deliveries, delivery), last_key=meta.key)
    return message


# --- recipients -------------------------------------------------------------------------


def matches(message: Message, who: Recipient, now_ms: int) -> bool:
    """Whether ``who`` should get ``message`` now (and has not had it yet)."""
    if message.delivered_to(who.session):
        return False
    return reaches(message.target, message.expires_at, who, now_ms)


# --- ops --------------------------------------------------------------------------------


@decider(MessageSend)
def _message_send(cmd: MessageSend, state: StateReader, ctx: Context) -> Decision:
    target = cmd.target
    kind, name = parse_target(target)
    if kind == "project" and state.project(name) is None:
        raise NotFound(f"no project {name!r}")
    if kind == "group" and not cmd.host_group:
        # ``host_group``: the caller found the name among hosts' configured groups,
        # which live in HostNamed events this reader cannot list.
        group = state.group(name)
        if group is None or group.removed:
            raise NotFound(f"no group {name!r}: create it with `clare group add {name}`")
    if kind == "session":
        need_live_session(state, name)
    if kind == "host" and state.host_by_name(name) is None:
        raise NotFound(f"no host named {name!r}")
    text = cmd.text.strip()
    if not text:
        raise UsageError("a message needs some text")
    sent_at, ttl = cmd.sent_at, cmd.ttl_ms
    if ttl <= 0:
        raise UsageError("a message's time to live must be positive")
    message_id = ids.new_message_id()
    event = MessageSent(
        message=message_id,
        target=target,
        text=text,
        author=cmd.author,
        sent_at=sent_at,
        expires_at=sent_at + ttl,
    )
    return Decision([event], {"message": message_id, "target": target})


def deliveries(
    state: StateReader, session: str, message_ids: Iterable[str], via: str, at: int
) -> list[DomainEvent]:
    """``MessageDelivered`` for each known message not yet delivered to ``session``."""
    if via not in VIAS:
        raise UsageError(f"delivery must be by {', '.join(VIAS)}, not {via!r}")
    events: list[DomainEvent] = []
    for message_id in dict.fromkeys(message_ids):
        message = state_message(state, message_id)
        if message is None or not message.target or message.delivered_to(session):
            continue
        events.append(MessageDelivered(message=message_id, session=session, via=via, at=at))
    return events


@runtime_checkable
class EntityReader(Protocol):
    """A state reader that folds any entity (the writer's cache is one)."""

    def get(self, entity: str) -> Any: ...


def state_message(state: StateReader, message_id: str) -> Message | None:
    """The folded message; None when unknown or when the reader cannot fold messages."""
    if not isinstance(state, EntityReader):
        return None
    found = state.get(MESSAGE_PREFIX + message_id)
    return found if isinstance(found, Message) else None


@decider(MessageDeliver)
def _message_deliver(cmd: MessageDeliver, state: StateReader, ctx: Context) -> Decision:
    for message_id in cmd.messages:
        if state_message(state, message_id) is None:
            raise NotFound(f"no message {message_id}")
    events = deliveries(state, cmd.session, cmd.messages, cmd.via, cmd.at)
    return Decision(
        events, {"delivered": [e.message for e in events if isinstance(e, MessageDelivered)]}
    )
