"""How much room the data folder has left, for ``clare status`` and the doctor.

SQLite says "database or disk is full" only when a write fails; this tells a
person beforehand, and says which folder to make room in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: Below this much free space the data folder counts as full: a group commit
#: with its WAL frames, or the views' next transaction, may not fit.
FULL_BELOW_BYTES = 1024 * 1024
#: Below this, it is worth a warning before writes start failing.
LOW_BELOW_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Space:
    path: str
    free_bytes: int
    total_bytes: int

    @property
    def full(self) -> bool:
        return self.free_bytes < FULL_BELOW_BYTES

    @property
    def low(self) -> bool:
        return self.free_bytes < LOW_BELOW_BYTES

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "free_bytes": self.free_bytes,
            "total_bytes": self.total_bytes,
            "full": self.full,
        }

    def describe(self) -> str:
        return f"{_size(self.free_bytes)} free of {_size(self.total_bytes)} at {self.path}"


def data_space(folder: Path) -> Space:
    """Free space for an unprivileged writer in ``folder`` (or its nearest existing parent)."""
    target = folder
    while not target.exists() and target != target.parent:
        target = target.parent
    stats = os.statvfs(target)
    return Space(str(folder), stats.f_bavail * stats.f_frsize, stats.f_blocks * stats.f_frsize)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
