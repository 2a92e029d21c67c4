"""Waiting for files to change: the poller's session folders, the gossip node's clare.toml.

Claude Code writes ``sessions/<pid>.json`` when a session starts and each
time its status changes, and appends to the transcript at every step. With
inotify (through ``asyncinotify``: plain ctypes over the kernel's calls, no
dependency, no thread of its own) the poller sleeps until one of those
folders changes, and a session start or a transcript append reaches the
writer within milliseconds, while a quiet host costs nothing. The kernel's
file descriptor is waited on with trio's own ``wait_readable``. The gossip
node waits the same way for an edit of ``clare.toml`` (its peers).

A slow re-scan still runs (``[poller] rescan_s``): what no file change shows
(a crashed process whose session file stays behind, a session known only
from the views) is found by it. Where inotify is missing (not Linux, a
file system without it, the watch limit reached) the poller polls every
``interval_s`` as before: :class:`PollingWatch`.
"""

from __future__ import annotations

import contextlib
import errno
from typing import TYPE_CHECKING, Protocol

import trio

from clare.runtime.logs import get

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    import asyncinotify

log = get("clare.poller")


class Watch(Protocol):
    """What the poller waits on between passes."""

    def watch(self, folders: Iterable[Path]) -> None:
        """Watch exactly these folders from now on (missing ones are skipped)."""

    async def changed(self) -> None:
        """Return once something watched changed (at once if it already has)."""

    def drain(self) -> bool:
        """Forget the changes seen so far (a pass about to start covers them)."""


class PollingWatch:
    """No inotify: every ``interval_s`` counts as a change."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s

    def watch(self, folders: Iterable[Path]) -> None:
        pass

    def close(self) -> None:
        pass

    async def changed(self) -> None:
        await trio.sleep(self.interval_s)

    def drain(self) -> bool:
        return False


class InotifyWatch:
    """Folders watched with inotify for files created, written, moved or removed."""

    def __init__(self) -> None:
        import asyncinotify

        self._mod = asyncinotify
        # sync_timeout=0: reading never blocks; trio waits on the descriptor.
        self._inotify = asyncinotify.Inotify(sync_timeout=0)
        self._mask = (
            asyncinotify.Mask.CREATE
            | asyncinotify.Mask.MODIFY
            | asyncinotify.Mask.CLOSE_WRITE
            | asyncinotify.Mask.MOVED_TO
            | asyncinotify.Mask.MOVED_FROM
            | asyncinotify.Mask.DELETE
            | asyncinotify.Mask.ONLYDIR
        )
        self._watches: dict[Path, asyncinotify.Watch] = {}
        self._dropped: set[asyncinotify.Watch] = set()

    def close(self) -> None:
        self._inotify.close()

    def watch(self, folders: Iterable[Path]) -> None:
        # A folder not made yet is watched through its nearest parent that exists:
        # its making wakes the watch, and the next call watches it itself.
        wanted = {_nearest_existing(folder) for folder in folders}
        for folder in [f for f in self._watches if f not in wanted]:
            watch = self._watches.pop(folder)
            self._dropped.add(watch)  # its IN_IGNORED is no change
            with contextlib.suppress(OSError):  # the folder is gone, and its watch with it
                self._inotify.rm_watch(watch)
        for folder in wanted - self._watches.keys():
            try:
                self._watches[folder] = self._inotify.add_watch(folder, self._mask)
            except FileNotFoundError:
                continue  # removed a moment ago: its parent's watch saw it go
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EACCES, errno.ENOTDIR):
                    raise
                log.warning(
                    "folder not watched; the re-scan covers it", folder=str(folder), error=str(exc)
                )

    @property
    def folders(self) -> set[Path]:
        return set(self._watches)

    async def changed(self) -> None:
        while True:
            await trio.lowlevel.wait_readable(self._inotify.fd)
            if self.drain():
                return

    def drain(self) -> bool:
        """Read every event waiting (one pass covers them all); whether one was a change."""
        changed = False
        while (event := self._inotify.sync_get()) is not None:
            if not event.mask & self._mod.Mask.IGNORED:
                changed = True
            elif event.watch in self._dropped:
                self._dropped.discard(event.watch)  # the kernel's answer to our rm_watch
            elif event.watch is not None:
                # The folder went away: forget its watch, so a new one is made if it returns.
                self._watches.pop(event.watch.path, None)
                changed = True
        return changed


def _nearest_existing(folder: Path) -> Path:
    while not folder.is_dir() and folder.parent != folder:
        folder = folder.parent
    return folder


def open_watch(interval_s: float, *, inotify: bool = True) -> InotifyWatch | PollingWatch:
    """Inotify where the kernel has it, else polling every ``interval_s``."""
    if inotify:
        try:
            return InotifyWatch()
        except (ImportError, OSError, AttributeError) as exc:
            # Not Linux (no inotify in libc), or the instance limit reached.
            log.warning("inotify unavailable; polling instead", error=str(exc))
    return PollingWatch(interval_s)
