"""A small real file system to fill: a tmpfs mounted for one test, and a filler.

Root may mount; where mounting is impossible the test says why and skips.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@contextlib.contextmanager
def mounted_tmpfs(size: str) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` (e.g. ``"6m"``), unmounted and removed afterwards."""
    mount = Path(tempfile.mkdtemp(prefix="clfs-"))
    done = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount))
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        _run("umount", "-l", str(mount))
        shutil.rmtree(mount, ignore_errors=True)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk`` with one file; remove it to give the space back."""
    filler = disk / "filler"
    # Unbuffered: closing a buffered file on a full disk would raise anew.
    with open(filler, "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()
    # Then the last partial blocks, so not even a small write finds room.
    with open(filler, "ab", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 512)
    return filler
