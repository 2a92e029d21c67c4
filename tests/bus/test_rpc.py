from __future__ import annotations

import time
import uuid

import pytest

from clare.bus import rpc
from clare.bus.rpc import Request, parse_request
from clare.core.errors import UsageError


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


@pytest.mark.parametrize("priority", [2**64, -(2**63) - 1, 99999999999999999999])
def test_a_number_msgpack_cannot_carry_is_a_usage_error(priority: int) -> None:
    """`clare task add --priority 99999999999999999999` died with msgpack's OverflowError,
    and the API answered 500 for the same number in a JSON body."""
    request = Request.new("task.add", {"title": "x", "priority": priority})
    with pytest.raises(UsageError, match=r"^priority is out of range"):
        request.encode()
    nested = Request.new("task.edit", {"task": "t-1", "tags": ["a"], "extra": {"n": [1, priority]}})
    with pytest.raises(UsageError, match=r"^extra\.n\[1\] is out of range"):
        nested.encode()


def test_the_widest_numbers_msgpack_carries_still_encode() -> None:
    for value in (2**64 - 1, -(2**63)):
        frame = Request.new("task.add", {"priority": value}).encode()
        assert parse_request(frame).args["priority"] == value
