"""The outcome of one health check, and of a whole ``clare doctor`` run. Pure."""

from __future__ import annotations

import enum
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence


class Status(enum.Enum):
    OK = "ok"
    WARNING = "warning"
    FAILURE = "failure"


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, how it went, and, unless ok, the fix in one line."""

    name: str
    status: Status
    summary: str
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "summary": self.summary,
            "fix": self.fix,
        }


def ok(name: str, summary: str) -> Check:
    return Check(name, Status.OK, summary)


def warning(name: str, summary: str, fix: str) -> Check:
    return Check(name, Status.WARNING, summary, fix)


def failure(name: str, summary: str, fix: str) -> Check:
    return Check(name, Status.FAILURE, summary, fix)


def healthy(checks: Sequence[Check]) -> bool:
    """No failure (warnings are allowed: they name what is missing, not what is broken)."""
    return all(c.status is not Status.FAILURE for c in checks)


def report(checks: Sequence[Check]) -> dict[str, Any]:
    """The JSON document of ``clare doctor --json``."""
    counts = {s.value: sum(c.status is s for c in checks) for s in Status}
    return {"ok": healthy(checks), "counts": counts, "checks": [c.to_dict() for c in checks]}


def render_text(checks: Sequence[Check]) -> str:
    """Aligned lines for a person: status, name, summary, and the fix below it."""
    label = {Status.OK: "ok", Status.WARNING: "WARN", Status.FAILURE: "FAIL"}
    width = max((len(c.name) for c in checks), default=0)
    lines = []
    for c in checks:
        lines.append(f"{label[c.status]:<4}  {c.name:<{width}}  {c.summary}")
        if c.fix:
            lines.append(f"{'':<4}  {'':<{width}}  fix: {c.fix}")
    counts = report(checks)["counts"]
    lines.append(f"{counts['ok']} ok, {counts['warning']} warnings, {counts['failure']} failures")
    return "\n".join(lines)


def group_or_other_bits(mode: int) -> int:
    """The permission bits of ``mode`` that let someone other than the owner in."""
    return stat.S_IMODE(mode) & 0o077
