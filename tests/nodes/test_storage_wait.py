"""The projector's wait for storage: a full disk is waited out, damage is passed up."""

from __future__ import annotations

import itertools

import pytest
import trio
import trio.testing

from clare.core.errors import DatabaseDamaged, DiskFull
from clare.nodes.projector import StorageWait


async def test_a_full_disk_is_retried_with_growing_pauses_until_it_clears(
    autojump_clock: trio.testing.MockClock,
) -> None:
    wait = StorageWait(first_s=1.0, max_s=4.0)
    tried_at: list[float] = []
    seen_reason: list[str | None] = []

    def step() -> str:
        tried_at.append(trio.current_time())
        seen_reason.append(wait.reason)
        if len(tried_at) < 5:
            raise DiskFull("database or disk is full")
        return "opened"

    assert await wait.until_done(step) == "opened"
    pauses = [b - a for a, b in itertools.pairwise(tried_at)]
    assert pauses == [1.0, 2.0, 4.0, 4.0]
    assert seen_reason[1] == "database or disk is full"  # what it waits for
    assert wait.reason is None  # resumed


async def test_damage_is_not_waited_for(autojump_clock: trio.testing.MockClock) -> None:
    def step() -> None:
        raise DatabaseDamaged("file is not a database")

    with pytest.raises(DatabaseDamaged):
        await StorageWait().until_done(step)
    assert trio.current_time() == 0
