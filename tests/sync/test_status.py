from __future__ import annotations

from clare.runtime.config import Peer
from clare.sync.actions import Notice
from clare.sync.peer import PeerStats, PeerStatus
from clare.sync.peers import Refusal
from clare.sync.status import NoticeRecord, report


def test_the_report_joins_links_config_refusals_and_notices() -> None:
    up = PeerStatus(
        "b", "origin-b", True, 9_000, 3, 1, 2, PeerStats(events_received=5), request_events=512
    )
    down = PeerStatus("c", None, False, None, 0, 0, 0, PeerStats(events_sent=7))
    data = report(
        origin="origin-a",
        name="a",
        port=8766,
        public_key="PUB",
        vector={"origin-b": 4, "origin-a": 6},
        statuses=[down, up],
        peers={"b": Peer("b", "tcp://h:1", "KB")},
        frames_dropped={"c": 2},
        refusals=[Refusal("10.0.0.9", "KX", 3, 100.0, 160.0, 160.0)],
        notices=[NoticeRecord.of(Notice("b", "clock_ahead", "refused 1"), 0.0)],
        counters={"ingest_failures": 1},
        now_ms=10_000,
        wall_s=1_000_000.0,
        slot_conflict_count=1,
        slot_conflicts=[{"origin": "origin-x", "origin_seq": 3, "seen_at_ms": 160_000}],
    )
    assert data["vector"] == {"origin-a": 6, "origin-b": 4}
    assert data["events_held"] == 10
    b, c = data["peers"]
    assert (b["name"], b["endpoint"], b["connected"], b["we_lack"], b["they_lack"]) == (
        "b",
        "tcp://h:1",
        True,
        3,
        1,
    )
    assert b["last_contact_age_s"] == 1.0
    assert (b["request_events"], c["request_events"]) == (512, None)
    assert b["last_contact"] == "1970-01-12T13:46:39Z"
    assert (c["endpoint"], c["last_contact"], c["frames_dropped"]) == (None, None, 2)
    assert data["totals"] == {
        "events_received": 5,
        "events_sent": 7,
        "clock_ahead": 0,
        "conflicts": 0,
        "connected": 1,
        "slot_conflicts": 1,
        "ingest_failures": 1,
    }
    (conflict,) = data["slot_conflicts"]["recent"]
    assert data["slot_conflicts"]["count"] == 1
    assert (conflict["origin"], conflict["seen_at"]) == ("origin-x", "1970-01-01T00:02:40Z")
    assert data["refused"] == [
        {
            "address": "10.0.0.9",
            "key": "KX",
            "count": 3,
            "first_at": "1970-01-01T00:01:40Z",
            "last_at": "1970-01-01T00:02:40Z",
        }
    ]
    assert data["notices"][0]["code"] == "clock_ahead"
