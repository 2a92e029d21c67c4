"""ExitWatch: a watched process's end wakes the poller, with pidfds and without."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest
import trio

from clare.nodes.exit_watch import ExitWatch

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polled"])
async def test_the_end_of_a_watched_process_is_heard(
    child: subprocess.Popen[bytes], pidfd: bool
) -> None:
    watch = ExitWatch(0.05, pidfd=pidfd)
    watch.watch([child.pid])
    try:
        with trio.move_on_after(0.3) as quiet:
            await watch.exited()
        assert quiet.cancelled_caught, "a live process is not an exit"
        child.kill()
        child.wait()
        with trio.fail_after(5):
            await watch.exited()
    finally:
        watch.close()


async def test_a_process_gone_before_it_is_watched_is_an_exit_at_once(
    child: subprocess.Popen[bytes],
) -> None:
    child.kill()
    child.wait()
    watch = ExitWatch(60.0)
    watch.watch([child.pid])
    with trio.fail_after(1):
        await watch.exited()
    watch.close()


async def test_nothing_watched_waits_forever_and_unwatched_pids_are_let_go(
    child: subprocess.Popen[bytes],
) -> None:
    watch = ExitWatch(0.05)
    watch.watch([child.pid])
    watch.watch([])
    child.kill()
    child.wait()
    with trio.move_on_after(0.3) as quiet:
        await watch.exited()
    assert quiet.cancelled_caught
    watch.close()


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polled"])
async def test_a_gone_process_wakes_the_poller_once_not_at_every_pass(
    child: subprocess.Popen[bytes], pidfd: bool
) -> None:
    """The views may list a session as live after its process is gone (a source that
    judges liveness otherwise): the poller must not spin on it."""
    child.kill()
    child.wait()
    watch = ExitWatch(0.05, pidfd=pidfd)
    watch.watch([child.pid])
    with trio.fail_after(1):
        await watch.exited()
    watch.watch([child.pid])
    with trio.move_on_after(0.3) as quiet:
        await watch.exited()
    assert quiet.cancelled_caught
    watch.close()
