"""What ``clare sync status --json`` prints: the sync core's view of each link, as plain data.

Pure: the gossip node passes in the core's snapshots, its own counters and
the two clocks (monotonic for ages, wall for stamps people read). Field names
are a contract for scripts and benchmarks; add fields, never rename them.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from clare.runtime.config import Peer
    from clare.sync.actions import Notice
    from clare.sync.peer import PeerStatus
    from clare.sync.peers import Refusal


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    """A notice from the core, kept for the status page (epoch seconds)."""

    at: float
    peer: str
    code: str
    detail: str

    @classmethod
    def of(cls, notice: Notice, at: float) -> NoticeRecord:
        return cls(at, notice.peer, notice.code, notice.detail)


def iso(epoch_s: float | None) -> str | None:
    if epoch_s is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def peer_report(
    status: PeerStatus,
    peer: Peer | None,
    frames_dropped: int,
    now_ms: int,
    wall_s: float,
) -> dict[str, Any]:
    """One link: connected or not, last contact, what each side lacks, counters."""
    age_s = None if status.last_heard_ms is None else (now_ms - status.last_heard_ms) / 1000
    return {
        "name": status.name,
        "endpoint": peer.endpoint if peer else None,
        "key": peer.key if peer else None,
        "origin": status.origin,
        "connected": status.up,
        "last_contact": iso(None if age_s is None else wall_s - age_s),
        "last_contact_age_s": None if age_s is None else round(age_s, 3),
        "we_lack": status.we_lack,
        "they_lack": status.they_lack,
        "clock_offset_ms": status.clock_offset_ms,
        "outstanding_requests": status.outstanding_requests,
        "request_events": status.request_events,
        "frames_dropped": frames_dropped,
        **asdict(status.stats),
    }


def report(
    *,
    origin: str,
    name: str,
    port: int,
    bind: str = "",
    public_key: str,
    vector: Mapping[str, int],
    statuses: Iterable[PeerStatus],
    peers: Mapping[str, Peer],
    frames_dropped: Mapping[str, int],
    refusals: Iterable[Refusal],
    notices: Sequence[NoticeRecord],
    counters: Mapping[str, int],
    now_ms: int,
    wall_s: float,
    slot_conflict_count: int = 0,
    slot_conflicts: Sequence[Mapping[str, Any]] = (),
    members: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole status document of one gossip node.

    ``slot_conflicts`` are events refused because a different event holds
    their ``(origin, origin_seq)``: each is an event some host made that this
    one will never hold, so a link can show nothing lacking while one is lost.
    """
    links = [
        peer_report(s, peers.get(s.name), frames_dropped.get(s.name, 0), now_ms, wall_s)
        for s in sorted(statuses, key=lambda s: s.name)
    ]
    return {
        "origin": origin,
        "name": name,
        "port": port,
        "bind": bind,
        "public_key": public_key,
        "vector": dict(sorted(vector.items())),
        "events_held": sum(vector.values()),
        "peers": links,
        "fleet": dict(members or {}),
        "totals": {
            "events_received": sum(link["events_received"] for link in links),
            "events_sent": sum(link["events_sent"] for link in links),
            "clock_ahead": sum(link["clock_ahead"] for link in links),
            "conflicts": sum(link["conflicts"] for link in links),
            "connected": sum(1 for link in links if link["connected"]),
            "slot_conflicts": slot_conflict_count,
            **counters,
        },
        "slot_conflicts": {
            "count": slot_conflict_count,
            "recent": [{**c, "seen_at": iso(c["seen_at_ms"] / 1000)} for c in slot_conflicts],
        },
        "refused": [
            {
                "address": r.address,
                "key": r.key,
                "count": r.count,
                "first_at": iso(r.first_at),
                "last_at": iso(r.last_at),
            }
            for r in sorted(refusals, key=lambda r: -r.last_at)
        ],
        "notices": [
            {"at": iso(n.at), "peer": n.peer, "code": n.code, "detail": n.detail} for n in notices
        ],
    }
