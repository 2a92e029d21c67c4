"""The async client's wait for a writer that starts after the node, on trio's virtual clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest
import trio
import trio.testing

from clare.bus import rpc
from clare.bus.aclient import AsyncCommandClient, wait_until_up

if TYPE_CHECKING:
    from collections.abc import Callable


class _Writer:
    """Answers ``ping`` once ``up()`` says so; records when each ping came."""

    def __init__(self, up: Callable[[], bool]) -> None:
        self.up = up
        self.pings: list[float] = []

    async def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        assert op == "ping"
        self.pings.append(trio.current_time())
        if not self.up():
            raise rpc.not_running()
        return {}


async def test_pings_are_retried_until_the_writer_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    writer = _Writer(up=lambda: trio.current_time() - start >= 1.0)
    await wait_until_up(cast("AsyncCommandClient", writer))
    assert len(writer.pings) == 6  # at 0, 0.2, ..., 1.0 s: every 0.2 s until it answered
    assert writer.pings[-1] - start == pytest.approx(1.0)


async def test_a_writer_that_never_answers_fails_after_the_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    writer = _Writer(up=lambda: False)
    start = trio.current_time()
    with pytest.raises(trio.TooSlowError):
        await wait_until_up(cast("AsyncCommandClient", writer), timeout_s=29.9)
    assert trio.current_time() - start == pytest.approx(29.9)
    assert len(writer.pings) == 150  # at 0, 0.2, ..., 29.8 s: every 0.2 s, none after the timeout
