"""The benchmark report: the machine it ran on, and one table of every figure.

``render`` is pure (sections and a ``Machine`` in, Markdown out) so its shape
is tested without running anything; ``this_machine`` reads /proc and git.
"""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bench.figures import number

if TYPE_CHECKING:
    from pathlib import Path

    from bench.figures import Figure, Section

HEADER = "| figure | value | baseline (same run) | ratio | aim | met? |"


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gb: float
    python: str
    system: str
    date: str
    commit: str


def this_machine(repo: Path) -> Machine:
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        memory_gb=_memory_gb(),
        python=platform.python_version(),
        system=f"{platform.system()} {platform.release()}",
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git_commit(repo),
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _git_commit(repo: Path) -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def _value(figure: Figure) -> str:
    if figure.value is None:
        return figure.note or "not measured"
    return f"{number(figure.value)} {figure.unit}".rstrip()


def _baseline(figure: Figure) -> str:
    if figure.baseline is None:
        return "—"
    text = f"{number(figure.baseline)} {figure.unit}".rstrip()
    return f"{text} ({figure.baseline_name})" if figure.baseline_name else text


def _verdict(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def row(figure: Figure) -> str:
    ratio = figure.ratio
    cells = [
        figure.name,
        _value(figure),
        _baseline(figure),
        "—" if ratio is None else f"{ratio:.2f}",
        ", ".join(aim.describe(figure.unit) for aim in figure.aims) or "—",
        _verdict(figure.met),
    ]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def render(sections: list[Section], machine: Machine, *, mode: str, command: str) -> str:
    """The whole report as Markdown."""
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` ({mode} mode); do not edit by hand, run it again.",
        "",
        f"- machine: {machine.cpu}, {machine.cores} cores, {machine.memory_gb:.1f} GB RAM, "
        f"{machine.system}, Python {machine.python}",
        f"- date: {machine.date}",
        f"- commit: {machine.commit}",
        "",
        "Every baseline is measured in the same run, on the same disk, just before or",
        "alongside the figure it is compared with. The ratio is value / baseline.",
        "What each performance pass changed, with its before and after figures:",
        "[performance.md](performance.md).",
        "",
        HEADER,
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [row(figure) for section in sections for figure in section.figures]
    lines += ["", "## How each figure is measured", ""]
    for section in sections:
        lines += [f"### {section.title}", "", section.method.strip(), ""]
        notes = [f"- {f.name}: {f.note}" for f in section.figures if f.note and f.value]
        if notes:
            lines += [*notes, ""]
    return "\n".join(lines).rstrip() + "\n"
