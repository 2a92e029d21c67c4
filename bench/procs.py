"""The processes the harness starts: how to start the CLI, and what /proc says of them.

Kept free of trio and of the nodes' imports: the rebuild child imports it,
and its peak memory is one of the figures.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


class BenchError(Exception):
    """The harness could not run a benchmark (a stack that never came up, a failed child)."""


def clare_command() -> list[str]:
    """How a user starts the CLI: the installed ``clare`` script of this Python.

    Deliberately not the first ``clare`` on PATH: version managers put shell
    shims there that would add their own start-up to every measured run.
    """
    script = Path(sys.executable).parent / "clare"
    return [str(script)] if script.exists() else [sys.executable, "-m", "clare"]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in kB (empty if it is gone)."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    found[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return {}
    return found


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time a live process has used, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces: count fields after its closing ')'.
    fields = stat.rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")
