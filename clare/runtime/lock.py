"""One process per role per instance, enforced with a lock file.

A second process binding the same ``ipc://`` path would silently take it over
from the first, so every node (and ``clare up``) holds an exclusive ``flock``
on its lock file for its whole life. The kernel drops the lock when the
process dies, however it dies, so a crash never leaves a stale lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import TYPE_CHECKING

from clare.core.errors import ServiceUnavailable

if TYPE_CHECKING:
    from pathlib import Path


class LockHeld(ServiceUnavailable):
    code = "lock_held"


class NodeLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, what: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = read_holder(self.path)
            raise LockHeld(
                f"{what} is already running for this instance "
                f"(pid {holder or '?'}, lock {self.path})"
            ) from None
        self._fd = fd
        _record_pid(fd)

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> NodeLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _record_pid(fd: int) -> None:
    """Write our pid into the held lock file, for messages and the doctor.

    Written over the old content rather than after a truncation: on a full
    disk a truncated file's block may be taken by another writer before we
    write, and the pid would not fit. The flock is what locks, so a pid that
    cannot be written at all leaves the file empty and the node running.
    """
    data = f"{os.getpid()}\n".encode()
    try:
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # no stale pid of an earlier holder


def read_holder(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def is_held(path: Path) -> bool:
    """Whether some live process holds the lock (tries to take it, and lets go)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def may_answer(socket_file: str | None, lock_file: Path | None) -> bool:
    """Whether a node may be serving: its socket file exists and its lock is held.

    A killed node leaves its socket file behind; its lock tells at once that
    nobody serves it, instead of waiting through every retry. Either left as
    None is not checked.
    """
    if socket_file is not None and not os.path.exists(socket_file):
        return False
    return lock_file is None or is_held(lock_file)
