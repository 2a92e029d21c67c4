"""Deciders of the fleet's membership: invite, join, admit, remove. Pure.

``fleet.join`` runs on the inviter, for a guest that presented a token: it is
the one place an invitation is checked and spent, so the writer's single
transaction makes "works once" hold. The secret itself never reaches a
decider: the gossip node sends its SHA-256 and checked the token's mac.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.core.errors import NotFound, PeerRefused, UsageError
from clare.domain.commands import FleetAdmit, FleetInvite, FleetJoin, FleetRemove
from clare.domain.decide import Context, Decision, StateReader, decider
from clare.domain.fleet import Fleet, InviteIssued, Member, MemberJoined, MemberRemoved

if TYPE_CHECKING:
    from clare.domain.events import DomainEvent


@decider(FleetInvite)
def _invite(cmd: FleetInvite, state: StateReader, ctx: Context) -> Decision:
    """Record an invitation (by the hash of its secret); the first one founds the fleet."""
    fleet = state.fleet()
    key, name, endpoint = cmd.key, cmd.name, cmd.endpoint
    if key in fleet.removed:
        raise PeerRefused("this host was removed from the fleet: it cannot invite")
    events: list[DomainEvent] = []
    if not fleet.is_member(key):
        events.append(MemberJoined(key, ctx.machine_id, name, endpoint))
    invite, expires = cmd.invite, cmd.expires_ms
    if invite in fleet.invites:
        raise UsageError(f"invitation {invite} exists already")
    events.append(InviteIssued(invite, cmd.secret_sha256, expires, ctx.machine_id, endpoint, key))
    return Decision(events, {"invite": invite, "expires_ms": expires, "founded": len(events) > 1})


@decider(FleetJoin)
def _join(cmd: FleetJoin, state: StateReader, ctx: Context) -> Decision:
    """A guest presented an invitation of ours: let it in, once."""
    fleet = state.fleet()
    key, origin, name, endpoint = cmd.key, cmd.origin, cmd.name, cmd.endpoint
    invite_id = cmd.invite
    invite = fleet.invites.get(invite_id)
    if invite is None or invite.by != ctx.machine_id:
        raise PeerRefused(f"invitation {invite_id} was not made here")
    if cmd.secret_sha256 != invite.secret_sha256:
        raise PeerRefused(f"invitation {invite_id}: the secret does not match (forged?)")
    if cmd.token_expires_ms != invite.expires_ms:
        raise PeerRefused(f"invitation {invite_id}: the token was altered")
    if invite_id in fleet.spent:
        raise PeerRefused(f"invitation {invite_id} was used already")
    if cmd.now_ms >= invite.expires_ms:
        raise PeerRefused(f"invitation {invite_id} has expired")
    if key in fleet.removed or origin in fleet.removed_origins():
        raise PeerRefused("that host was removed from the fleet and cannot join again")
    joined = MemberJoined(key, origin, name, endpoint, ctx.machine_id, invite_id)
    return Decision([joined], {"invite": invite_id, "key": key, "name": name})


@decider(FleetAdmit)
def _admit(cmd: FleetAdmit, state: StateReader, ctx: Context) -> Decision:
    """The host that let us in, recorded here after it did: our first link."""
    fleet = state.fleet()
    key, origin, name, endpoint = cmd.key, cmd.origin, cmd.name, cmd.endpoint
    if key in fleet.removed:
        raise PeerRefused(f"{name} was removed from the fleet")
    return Decision([MemberJoined(key, origin, name, endpoint, ctx.machine_id)], {"key": key})


def find_member(fleet: Fleet, host: str) -> Member:
    """A current member by name, origin or public key (a prefix of 6 or more will do)."""
    members = fleet.members()
    exact = [m for m in members if host in (m.name, m.origin, m.key)]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise UsageError(f"{host!r} names several members: give its key")
    if len(host) >= 6:
        found = [m for m in members if m.key.startswith(host) or m.origin.startswith(host)]
        if len(found) == 1:
            return found[0]
    raise NotFound(f"no member {host!r}: see `clare sync members`")


@decider(FleetRemove)
def _remove(cmd: FleetRemove, state: StateReader, ctx: Context) -> Decision:
    """Put a member out for good: every host drops and refuses its key."""
    member = find_member(state.fleet(), cmd.host)
    if member.origin == ctx.machine_id:
        raise UsageError("a host cannot remove itself: remove it from another member")
    removed = MemberRemoved(
        member.key,
        member.origin,
        member.name,
        ctx.machine_id,
        cmd.reason,
    )
    return Decision([removed], {"removed": member.name, "key": member.key})
