"""The gossip node's view of fleet membership: whom to link to, whom ZAP lets in.

Folded from the fleet's events (``clare.domain.fleet``) as the writer commits
them, local or relayed, so a join or a removal anywhere changes this host's
links and allow-list within one push, without a restart. The peer table it
gives the node is the hand-made ``[[peers]]`` of ``clare.toml`` plus the
members :func:`clare.sync.links.choose_links` picks, less every removed key.
The allow-list is every current member and every hand-made peer: a member we
do not link to may still link to us while its view of the fleet catches up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core.errors import ProtocolError
from clare.domain.fleet import FLEET_KINDS, Fleet, apply_fleet
from clare.domain.fold import decode_event, meta_of
from clare.runtime.config import Peer
from clare.sync.links import Seat, choose_links

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clare.core.events import Event
    from clare.runtime.config import Config


class Membership:
    def __init__(self, config: Config, own_key: str) -> None:
        self.config = config
        self.own_key = own_key
        self.fleet = Fleet()

    def fold(self, events: Iterable[Event]) -> bool:
        """Take in committed events; whether any changed the fleet."""
        changed = False
        for event in events:
            if event.kind not in FLEET_KINDS:
                continue
            try:
                domain_event = decode_event(event)
            except ProtocolError:
                continue
            self.fleet = apply_fleet(self.fleet, domain_event, meta_of(event))
            changed = True
        return changed

    def banned(self) -> set[str]:
        return set(self.fleet.removed)

    def _named(self) -> dict[str, Peer]:
        """Every current member but us, as a peer, by key (names made unique)."""
        members = [m for m in self.fleet.members() if m.key != self.own_key]
        taken = {p.name for p in self.config.peers}
        count: dict[str, int] = {}
        for m in members:
            count[m.name] = count.get(m.name, 0) + 1
        out: dict[str, Peer] = {}
        for m in members:
            name = (
                m.name if count[m.name] == 1 and m.name not in taken else f"{m.name}~{m.origin[:8]}"
            )
            out[m.key] = Peer(name, m.endpoint, m.key)
        return out

    def peers(self, hand_made: Iterable[Peer]) -> tuple[Peer, ...]:
        """The links to keep: hand-made peers and the chosen members, less removed keys."""
        banned = self.banned()
        chosen = [p for p in hand_made if p.key not in banned]
        keys = {p.key for p in chosen}
        seats = [Seat(m.key, m.origin, m.introducers) for m in self.fleet.members()]
        if self.own_key not in {s.key for s in seats} and self.own_key not in banned:
            # A new host before its own join has reached it: a member all the same.
            seats.append(Seat(self.own_key, self.config.machine_id))
        named = self._named()
        for key in sorted(choose_links(seats, self.own_key, self.config.sync_max_links)):
            if key not in keys and key in named:
                chosen.append(named[key])
        return tuple(chosen)

    def allowed(self, linked: Iterable[Peer]) -> list[Peer]:
        """Who ZAP lets in: our links, and every other current member."""
        peers = list(linked)
        keys = {p.key for p in peers}
        peers += [p for key, p in self._named().items() if key not in keys]
        return peers

    def guests_open(self, now_ms: int) -> bool:
        """Whether an invitation of ours can still be used (so guests may knock)."""
        return bool(self.fleet.open_invites(self.config.machine_id, now_ms))

    def open_invite_ids(self, now_ms: int) -> list[str]:
        return sorted(i.invite for i in self.fleet.open_invites(self.config.machine_id, now_ms))

    def report(self) -> dict[str, Any]:
        return {
            "members": [
                {
                    "name": m.name,
                    "origin": m.origin,
                    "key": m.key,
                    "endpoint": m.endpoint,
                    "introduced_by": m.introduced_by,
                }
                for m in self.fleet.members()
            ],
            "removed": sorted(r.name or r.key for r in self.fleet.removed.values()),
        }
