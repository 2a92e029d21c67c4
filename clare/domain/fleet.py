"""The fleet's membership, in the event log: invitations, joins, removals. Pure.

Every membership fact is an event of the one entity ``f:fleet``, so every host
folds the same members from the same events, in any arrival order:

- ``InviteIssued``: a member invited someone; holds the SHA-256 of the
  token's secret (never the secret), the expiry, and who invited.
- ``MemberJoined``: a host's key, origin, name and the endpoint others reach
  it at, and who introduced it (an empty ``introduced_by`` marks the fleet's
  first host). A join through an invitation names it, which spends it.
- ``MemberRemoved``: a key (and its origin) out for good, and the stamp of
  the removal, after which that origin's events are refused.

Membership is joined keys minus removed keys (a two-phase set): a removal
wins over any join of the same key, whichever arrives first, so a removed
key cannot be brought back by an old or a forged join. Where two joins give
one key different endpoints, the later by ``(hlc, origin)`` wins.

``f:`` is not a kind of :mod:`clare.domain.kinds`: the fleet has no views row
(the projector passes its events by), and is folded where it is used, by the
writer's cache (``EntityCache.fleet``) and by the gossip node.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from clare.core.errors import ProtocolError
from clare.domain.events import DomainEvent, register

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clare.core.events import Event
    from clare.domain.tasks import EventMeta

FLEET_ENTITY = "f:fleet"


@dataclass(frozen=True)
class _FleetEvent(DomainEvent):
    @property
    def entity(self) -> str:
        return FLEET_ENTITY


@dataclass(frozen=True)
class InviteIssued(_FleetEvent):
    kind: ClassVar[str] = "InviteIssued"
    invite: str
    secret_sha256: str
    expires_ms: int
    by: str  # the inviter's origin
    endpoint: str = ""
    key: str = ""


@dataclass(frozen=True)
class MemberJoined(_FleetEvent):
    kind: ClassVar[str] = "MemberJoined"
    key: str
    origin: str
    name: str
    endpoint: str
    introduced_by: str = ""  # an origin; empty for the fleet's first host
    invite: str = ""


@dataclass(frozen=True)
class MemberRemoved(_FleetEvent):
    kind: ClassVar[str] = "MemberRemoved"
    key: str
    origin: str
    name: str = ""
    by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Member:
    key: str
    origin: str
    name: str
    endpoint: str
    introduced_by: str  # the first introducer, by (hlc, origin)
    since: tuple[int, str]  # (hlc, origin) of the join that set its endpoint
    #: Every origin that recorded its join: the inviter, and the member a new host
    #: recorded as the one that let it in (``fleet.admit``). A set, so any order folds alike.
    introducers: frozenset[str] = frozenset()
    first: tuple[int, str] = (0, "")  # (hlc, origin) of its first join


@dataclass(frozen=True)
class Invite:
    invite: str
    secret_sha256: str
    expires_ms: int
    by: str
    endpoint: str
    key: str


@dataclass(frozen=True)
class Removal:
    key: str
    origin: str
    name: str
    hlc: int  # events of ``origin`` stamped after this are refused
    by: str


@dataclass(frozen=True)
class Fleet:
    joined: dict[str, Member] = field(default_factory=dict)  # by key
    removed: dict[str, Removal] = field(default_factory=dict)  # by key
    invites: dict[str, Invite] = field(default_factory=dict)
    spent: dict[str, str] = field(default_factory=dict)  # invite -> key that used it
    #: (hlc, origin) of the newest event folded, as every state has.
    last_key: tuple[int, str] = (0, "")

    def members(self) -> list[Member]:
        """The current members, by name."""
        kept = (m for k, m in self.joined.items() if k not in self.removed)
        return sorted(kept, key=lambda m: (m.name, m.key))

    def is_member(self, key: str) -> bool:
        return key in self.joined and key not in self.removed

    def removed_origins(self) -> dict[str, int]:
        """``{origin: stamp}``: events of the origin stamped after it are refused."""
        out: dict[str, int] = {}
        for r in self.removed.values():
            out[r.origin] = min(out.get(r.origin, r.hlc), r.hlc)
        return out

    def open_invites(self, by: str, now_ms: int) -> list[Invite]:
        """Invitations made by ``by`` that can still be used."""
        return [
            i
            for i in self.invites.values()
            if i.by == by and i.invite not in self.spent and i.expires_ms > now_ms
        ]


def apply_fleet(state: Fleet | None, event: DomainEvent, meta: EventMeta) -> Fleet:
    """Fold one fleet event; the result does not depend on the order events come in."""
    fleet = state or Fleet()
    key = (meta.hlc, meta.origin)
    last = max(fleet.last_key, key)
    match event:
        case InviteIssued():
            invite = Invite(
                event.invite,
                event.secret_sha256,
                event.expires_ms,
                event.by,
                event.endpoint,
                event.key,
            )
            return replace(fleet, invites={**fleet.invites, event.invite: invite}, last_key=last)
        case MemberJoined():
            spent = dict(fleet.spent)
            if event.invite:
                spent.setdefault(event.invite, event.key)
            held = fleet.joined.get(event.key)
            joined = fleet.joined
            intro = frozenset({event.introduced_by} - {""})
            if held is None:
                member = Member(
                    event.key, event.origin, event.name, event.endpoint,
                    event.introduced_by, key, intro, key,
                )  # fmt: skip
            else:
                first = held.first if held.first < key else key
                member = replace(
                    held,
                    introducers=held.introducers | intro,
                    first=first,
                    introduced_by=held.introduced_by if held.first < key else event.introduced_by,
                )
                if held.since < key:
                    member = replace(
                        member, origin=event.origin, name=event.name,
                        endpoint=event.endpoint, since=key,
                    )  # fmt: skip
            joined = {**fleet.joined, event.key: member}
            return replace(fleet, joined=joined, spent=spent, last_key=last)
        case MemberRemoved():
            held_removal = fleet.removed.get(event.key)
            if held_removal is not None and held_removal.hlc <= meta.hlc:
                return replace(fleet, last_key=last)
            removal = Removal(event.key, event.origin, event.name, meta.hlc, event.by)
            return replace(fleet, removed={**fleet.removed, event.key: removal}, last_key=last)
    return replace(fleet, last_key=last)


for _cls in (InviteIssued, MemberJoined, MemberRemoved):
    register(_cls)

FLEET_KINDS = frozenset({InviteIssued.kind, MemberJoined.kind, MemberRemoved.kind})


def fold_fleet(events: Iterable[Event]) -> Fleet:
    """The fleet from its stored events (malformed ones skipped)."""
    from clare.domain.fold import decode_event, meta_of

    fleet = Fleet()
    for event in events:
        if event.kind not in FLEET_KINDS:
            continue
        try:
            domain_event = decode_event(event)
        except ProtocolError:
            continue
        fleet = apply_fleet(fleet, domain_event, meta_of(event))
    return fleet
