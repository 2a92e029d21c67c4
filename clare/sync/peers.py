"""Who may talk to us: the allow-list of peer keys, refusals, and peer-table changes. Pure.

The allow-list maps a peer's CURVE public key to the name it has in
``clare.toml``. The ZAP handler asks it about every connection; the name it
answers becomes the connection's authenticated user id, which is how a frame
on the shared ROUTER is known to come from that peer (a routing id, chosen by
the sender, proves nothing). A refused key is remembered with its address for
``clare sync status``. Refusals are logged at most once a minute per address,
whatever key it offers (a stranger may make a new key for every attempt), and
at most ``MAX_LOG_LINES`` times a minute in all (a scan may come from many
addresses); each logged line says how many refusals went unlogged before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clare.core.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from clare.runtime.config import Peer

LOG_EVERY_S = 60.0
#: Refusal log lines per ``LOG_EVERY_S`` over all addresses.
MAX_LOG_LINES = 10
#: Refusals remembered, newest kept: a scan from many addresses cannot grow memory.
MAX_REFUSALS = 64

_ENDPOINT = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Refusal:
    """A peer we turned away: where from, with what key, how often, when last (epoch s)."""

    address: str
    key: str
    count: int
    first_at: float
    last_at: float
    logged_at: float


class AllowList:
    """Allowed keys by peer name, and the refusals of the rest."""

    def __init__(self, peers: Iterable[Peer] = ()) -> None:
        self._by_key: dict[str, str] = {}
        self._names: set[str] = set()
        self.refusals: dict[tuple[str, str], Refusal] = {}
        #: When a refusal from each address was last logged (bounded like refusals).
        self._logged_at: dict[str, float] = {}
        self._window_start = -LOG_EVERY_S
        self._window_lines = 0
        #: Refusals not logged since the last logged one (reported with the next line).
        self.unlogged = 0
        #: While an invitation of ours is open, an unknown key is let in as a guest
        #: named ``guest_prefix + key``, which may only ask to join.
        self.guests = False
        self.guest_prefix = "join:"
        #: Keys removed from the fleet: never admitted, not even as guests.
        self.banned: frozenset[str] = frozenset()
        self.update(peers)

    def update(self, peers: Iterable[Peer], banned: Iterable[str] = ()) -> None:
        self.banned = frozenset(banned)
        self._by_key = {p.key: p.name for p in peers if p.key not in self.banned}
        self._names = set(self._by_key.values())

    def admit(self, key: str, address: str, now_s: float) -> tuple[str | None, bool]:
        """(the peer's name, or None to refuse; whether to log the refusal now)."""
        name = self._by_key.get(key)
        if name is not None:
            return name, False
        if self.guests and key not in self.banned:
            return self.guest_prefix + key, False
        refusal = self.refusals.get((address, key))
        if refusal is None:
            if len(self.refusals) >= MAX_REFUSALS:
                oldest = min(self.refusals.values(), key=lambda r: r.last_at)
                del self.refusals[(oldest.address, oldest.key)]
            refusal = Refusal(address, key, 0, now_s, now_s, logged_at=-LOG_EVERY_S)
            self.refusals[(address, key)] = refusal
        refusal.count += 1
        refusal.last_at = now_s
        log_now = self._may_log(address, now_s)
        if log_now:
            refusal.logged_at = now_s
        else:
            self.unlogged += 1
        return None, log_now

    def take_unlogged(self) -> int:
        """Refusals left unlogged before the one being logged now; counting starts again."""
        unlogged, self.unlogged = self.unlogged, 0
        return unlogged

    def _may_log(self, address: str, now_s: float) -> bool:
        if now_s - self._logged_at.get(address, -LOG_EVERY_S) < LOG_EVERY_S:
            return False
        if now_s - self._window_start >= LOG_EVERY_S:
            self._window_start, self._window_lines = now_s, 0
        if self._window_lines >= MAX_LOG_LINES:
            return False
        self._window_lines += 1
        if address not in self._logged_at and len(self._logged_at) >= MAX_REFUSALS:
            del self._logged_at[min(self._logged_at, key=self._logged_at.__getitem__)]
        self._logged_at[address] = now_s
        return True

    def allows_name(self, name: str) -> bool:
        """Whether a connection named ``name`` by ZAP would still be let in."""
        return name in self._names

    def name_of(self, key: str) -> str | None:
        return self._by_key.get(key)


def changes(old: Sequence[Peer], new: Sequence[Peer]) -> tuple[list[Peer], list[Peer]]:
    """(peers to drop, peers to start) to go from ``old`` to ``new``.

    A peer whose endpoint or key changed is dropped and started again, so its
    link and socket are made afresh.
    """
    before = {p.name: p for p in old}
    after = {p.name: p for p in new}
    dropped = [p for name, p in before.items() if after.get(name) != p]
    started = [p for name, p in after.items() if before.get(name) != p]
    return dropped, started


def check_name(text: str) -> str:
    """A peer name: letters, digits, ``_.-``, up to 64 characters."""
    if not _NAME.match(text):
        raise UsageError(
            f"peer name {text!r:.70} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return text


def check_endpoint(text: str) -> str:
    """A peer's gossip address as ``tcp://host:port``; ``host:port`` is accepted too."""
    endpoint = text.strip()
    if "://" not in endpoint:
        endpoint = "tcp://" + endpoint
    match = _ENDPOINT.match(endpoint)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise UsageError(
            f"peer endpoint {text!r:.80} must be tcp://HOST:PORT (for example tcp://10.0.0.2:8766)"
        )
    return endpoint
