from __future__ import annotations

import time
import uuid

from clare.bus import rpc


def test_command_ids_are_uuid7_unique_and_grow_with_time() -> None:
    ids = [rpc.new_command_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert str(parsed) == ids[0]
    now_ms = time.time_ns() // 1_000_000
    assert abs((parsed.int >> 80) - now_ms) < 60_000
    earlier = rpc.new_command_id()
    time.sleep(0.002)
    assert rpc.new_command_id() > earlier


def test_a_request_round_trips_with_its_id() -> None:
    request = rpc.Request.new("task.add", {"title": "t"})
    assert rpc.parse_request(request.encode()) == request
