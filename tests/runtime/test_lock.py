"""The node lock: one holder, its pid on record, and a full disk does not stop a node."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, NoReturn

import pytest

from clare.runtime.lock import LockHeld, NodeLock, is_held, read_holder

if TYPE_CHECKING:
    from pathlib import Path


def test_the_holder_is_recorded_and_a_second_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "writer.lock"
    path.write_text("99999999 and some longer stale text\n")
    with NodeLock(path) as lock:
        lock.acquire("the writer")
        assert read_holder(path) == os.getpid()
        assert is_held(path)
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"), NodeLock(path) as second:
            second.acquire("the writer")
    assert not is_held(path)


def test_a_full_disk_leaves_the_lock_held_and_names_no_stale_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "projector.lock"
    path.write_text("12345\n")  # an earlier holder's pid

    def full(*args: object) -> NoReturn:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(os, "pwrite", full)
    with NodeLock(path) as lock:
        lock.acquire("the projector")
        assert is_held(path)
        assert read_holder(path) is None
