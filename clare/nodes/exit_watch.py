"""Waiting for this host's live sessions to exit: the news no file change brings.

A Claude Code process that is killed (or crashes) leaves its session file
behind, so the folder watch hears nothing; without this the session would
stay "live", and the tasks it holds taken, until the slow re-scan. Linux
gives each process a file descriptor that becomes readable when it exits
(``pidfd_open``, 5.3+): the poller waits on those with trio's own
``wait_readable``, so a quiet host still costs nothing and an exit starts a
pass at once. Where pidfds are missing (not Linux, an old kernel) the
session pids are checked every ``interval_s`` instead, and only while there
are any.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from collections.abc import Iterable


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive all the same
        return True
    return True


class ExitWatch:
    """The processes of this host's live sessions; ``exited`` returns when one ends."""

    def __init__(self, interval_s: float, *, pidfd: bool = True) -> None:
        self.interval_s = interval_s
        self._pidfd = pidfd and hasattr(os, "pidfd_open")
        self._fds: dict[int, int] = {}
        self._polled: set[int] = set()
        #: Pids found gone when watched: reported once, then left alone.
        self._dead: set[int] = set()
        self._gone = False

    def watch(self, pids: Iterable[int]) -> None:
        """Watch exactly these pids from now on.

        A pid already gone makes ``exited`` return at once, the first time only:
        the pass it starts records the end, and if the views still list the
        session (the source may judge it otherwise), the poller must not spin.
        """
        wanted = {pid for pid in pids if pid > 0}
        for pid in [p for p in self._fds if p not in wanted]:
            os.close(self._fds.pop(pid))
        self._polled &= wanted
        self._dead &= wanted
        self._gone = False
        for pid in wanted - self._fds.keys() - self._polled - self._dead:
            try:
                if not self._pidfd:
                    if not _alive(pid):
                        raise ProcessLookupError(pid)
                    self._polled.add(pid)
                    continue
                try:
                    self._fds[pid] = os.pidfd_open(pid)
                except ProcessLookupError:
                    raise
                except OSError:  # no pidfds here (ENOSYS, a sandbox): check it by signal 0
                    self._pidfd = False
                    self._polled.add(pid)
            except ProcessLookupError:
                self._dead.add(pid)
                self._gone = True

    async def exited(self) -> None:
        """Return once a watched process has ended (at once if one already had)."""
        if self._gone:
            return
        async with trio.open_nursery() as nursery:
            for fd in self._fds.values():
                nursery.start_soon(self._wait_fd, fd, nursery.cancel_scope)
            if self._polled:
                nursery.start_soon(self._poll, nursery.cancel_scope)
            if not self._fds and not self._polled:
                await trio.sleep_forever()

    async def _wait_fd(self, fd: int, done: trio.CancelScope) -> None:
        await trio.lowlevel.wait_readable(fd)
        done.cancel()

    async def _poll(self, done: trio.CancelScope) -> None:
        # Polled, not awaited: without pidfds nothing signals another process's end.
        while True:
            if not all(_alive(pid) for pid in self._polled):
                done.cancel()
                return
            await trio.sleep(self.interval_s)

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
