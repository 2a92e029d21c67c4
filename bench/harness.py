"""Run every benchmark against one real instance and write the report.

The order matters and is fixed: the events are generated first (straight into
the instance's events DB), then rebuilt in a child process while nothing else
runs, then the stack is started (the projector catches up on all of them) and
driven like a user would; the nodes' peak memory is read last, so it covers
every run.

``--quick`` runs the same code on small numbers, to show in seconds that the
harness works; its figures are not the project's figures.

The fleet simulation (:mod:`bench.fleet_sim`, no instance needed) runs apart
with ``python -m bench.fleet_sim --write``; a run of this harness keeps its
section of the report.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench import (
    commands,
    decisions,
    dispatch,
    idle,
    inbox,
    rebuild,
    sessions,
    sync,
    visible,
    wall,
    web,
)
from bench.eventgen import shape, write_history
from bench.figures import Figure, Section, at_most, missing, number
from bench.procs import BenchError
from bench.report import render, this_machine
from bench.stack import Stack
from clare.core.errors import ClareError

if TYPE_CHECKING:
    from collections.abc import Callable

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "docs" / "benchmarks.md"
RSS_AIM_MB = 80.0


@dataclass(frozen=True)
class Plan:
    events: int
    commands: int
    clients: int
    load_s: float
    wall_runs: int
    visible: int
    visible_pause_s: float
    poll_sessions: int
    poll_mb: int
    poll_passes: int
    page_runs: int
    sse: int
    api_s: float
    spread_bulk: int
    spread: int
    spread_pause_s: float
    notes_events: int  # the long-notes catch-up's history
    note_words: int
    inbox_rounds: int = 30  # messages to an idle Claude Code, each way
    decision_rounds: int = 50  # prompts asked on one host and allowed on another
    dispatch_rounds: int = 20  # dispatches from one host to another's Claude Code
    idle_window_s: float = 90.0  # each idle footprint window, scaled to an hour
    noticed: int = 100  # session files timed until noticed


FULL = Plan(
    1_000_000,
    2000,
    16,
    10.0,
    30,
    500,
    0.005,
    1000,
    300,
    20,
    30,
    300,
    5.0,
    20_000,
    150,
    0.02,
    200_000,
    400,
)
QUICK = replace(
    Plan(5_000, 40, 16, 0.5, 2, 20, 0.002, 20, 2, 3, 3, 10, 0.5, 300, 6, 0.01, 3_000, 400, 3, 3),
    idle_window_s=3.0,
    noticed=5,
)
API_CLIENTS = 16
#: Nodes whose peak memory the report must show: a missing one is a failure, not a gap.
NODES = ("writer", "projector", "poller", "gossip", "web")
#: Every section, in the order they run. ``--only`` picks some of them.
SECTIONS = (
    "rebuild",
    "poll pass",
    "long-note catch-up",
    "inbox delivery",
    "decisions",
    "dispatch",
    "idle",
    "session noticed",
    "start-up",
    "overview",
    "sse",
    "status api",
    "latency",
    "throughput",
    "visibility",
    "task add wall",
    "hook wall",
    "catch-up",
    "propagation",
    "memory",
)
#: Sections that need no running main instance: with only these, it is not started.
OFFLINE = frozenset(
    {
        "rebuild",
        "poll pass",
        "long-note catch-up",
        "inbox delivery",
        "decisions",
        "dispatch",
        "idle",
        "session noticed",
    }
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Measure Clare beside raw baselines."
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run in seconds")
    parser.add_argument("--events", type=int, help="events to generate (full: 1,000,000)")
    parser.add_argument(
        "--out",
        type=Path,
        help="where to write the Markdown report "
        "(full mode: docs/benchmarks.md; quick mode: only printed)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure as JSON here")
    parser.add_argument(
        "--only",
        type=_sections,
        help="comma-separated sections to run, of: "
        + ", ".join(SECTIONS)
        + " (the report then goes only where --out says)",
    )
    return parser.parse_args(argv)


def _sections(text: str) -> frozenset[str]:
    chosen = frozenset(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(chosen - set(SECTIONS))
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown section(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SECTIONS)}"
        )
    return chosen


def _progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(plan: Plan, only: frozenset[str] = frozenset(SECTIONS)) -> tuple[list[Section], list[str]]:
    """The chosen sections, and the failures of those that could not be measured."""
    sections: list[Section] = []
    failures: list[str] = []

    def measure(title: str, step: Callable[[], Section]) -> None:
        if title not in only:
            return
        # One benchmark failing must not cost the figures of the others.
        started = time.perf_counter()
        try:
            section = step()
        except (BenchError, ClareError) as exc:
            failures.append(f"{title}: {exc}")
            section = Section(title, "", [missing(title, "", f"failed: {exc}")])
        sections.append(section)
        shown = "; ".join(f"{f.name} = {_shown(f)}" for f in section.figures)
        _progress(f"{title} ({time.perf_counter() - started:.1f} s): {shown}")

    scratch = Path(tempfile.mkdtemp(prefix="cbs", dir="/tmp"))
    try:
        with Stack() as stack:
            started = time.perf_counter()
            write_history(stack.paths.events_db, plan.events, stack.machine_id)
            _progress(f"{plan.events:,} events written in {time.perf_counter() - started:.1f} s")
            measure("rebuild", lambda: rebuild.rebuild(stack.paths.events_db, scratch))
            measure(
                "poll pass",
                lambda: sessions.poll(plan.poll_sessions, plan.poll_mb, plan.poll_passes),
            )
            measure(
                "long-note catch-up",
                lambda: sync.catch_up_long_notes(plan.notes_events, plan.note_words, scratch),
            )
            measure("inbox delivery", lambda: inbox.delivery(plan.inbox_rounds))
            measure("decisions", lambda: decisions.decisions(plan.decision_rounds))
            measure("dispatch", lambda: dispatch.section(plan.dispatch_rounds))
            # On instances of their own, before the main one runs: idle means nothing else.
            measure("idle", lambda: idle.idle(plan.idle_window_s))
            measure("session noticed", lambda: idle.noticed(plan.noticed))
            if only <= OFFLINE:
                return sections, failures
            # Without a running stack nothing below can be measured: let that failure end the run.
            up_s = stack.up()
            after_start = stack.peak_rss_kb()
            measure("start-up", lambda: _startup(plan.events, up_s, after_start))
            # Before the benchmarks below add tasks: the page must show the generated shape.
            tasks, sessions_n = shape(plan.events)
            measure("overview", lambda: web.overview(stack, tasks, sessions_n, plan.page_runs))
            measure("sse", lambda: web.sse(stack, plan.sse, plan.visible_pause_s))
            measure("status api", lambda: web.status_rate(stack, plan.api_s, API_CLIENTS))
            measure("latency", lambda: commands.latency(stack, scratch, plan.commands))
            measure(
                "throughput",
                lambda: commands.throughput(stack, scratch, plan.clients, plan.load_s),
            )
            measure(
                "visibility",
                lambda: visible.visibility(stack, plan.visible, plan.visible_pause_s),
            )
            measure("task add wall", lambda: wall.task_add(stack, plan.wall_runs))
            measure("hook wall", lambda: wall.hook(stack, plan.wall_runs))
            measure("catch-up", lambda: sync.catch_up(stack, scratch))
            measure(
                "propagation",
                lambda: sync.propagation(plan.spread_bulk, plan.spread, plan.spread_pause_s),
            )
            measure("memory", lambda: _memory(stack, plan.events))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return sections, failures


def _shown(figure: Figure) -> str:
    if figure.value is None:
        return figure.note
    text = f"{number(figure.value)} {figure.unit}".rstrip()
    return text if figure.ratio is None else f"{text} (ratio {figure.ratio:.2f})"


def _startup(events: int, seconds: float, peaks_kb: dict[str, int]) -> Section:
    return Section(
        "Start-up",
        f"""
`clare up` on an instance holding {events:,} events, timed until the writer answers and
the projector has folded every stored event into the views (from an empty views DB).
The writer's and projector's peak RSS are read at that moment too, to tell the memory
of catching up from that of the load that follows.
""",
        [
            Figure(f"`clare up` to views caught up ({events:,} events)", seconds, "s"),
            Figure("projector catch-up rate, including start-up", events / seconds, "/s"),
            *(
                Figure(f"peak RSS right after start-up, {name} node", kb / 1024, "MB")
                for name, kb in sorted(peaks_kb.items())
                if name in ("writer", "projector")
            ),
        ],
    )


def _memory(stack: Stack, events: int) -> Section:
    peaks = stack.peak_rss_kb()
    figures = [
        Figure(
            f"peak RSS, {name} node ({events:,} events)" if name != "up" else "peak RSS, clare up",
            kb / 1024,
            "MB",
            aims=(at_most(RSS_AIM_MB),) if name != "up" else (),
        )
        for name, kb in sorted(peaks.items())
    ]
    absent = [name for name in NODES if name not in peaks]
    if absent:
        raise BenchError(f"no peak memory for the {', '.join(absent)} node(s): not running")
    return Section(
        "Peak memory of each process",
        f"""
VmHWM from /proc/PID/status of `clare up` and of each node it started, read after every
benchmark above has run against the instance of {events:,} generated events (plus the
commands the benchmarks sent).
""",
        figures,
    )


def kept_fleet_section(path: Path) -> str:
    """The fleet simulation's section of an existing report (``python -m bench.fleet_sim
    --write`` writes it; it runs apart, so a run of the rest keeps it)."""
    from bench.fleet_sim import MARKER

    try:
        old = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    at = old.find(MARKER)
    return "\n" + old[at:] if at >= 0 else ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.events is not None:
        plan = replace(plan, events=max(args.events, 100))
    try:
        sections, failures = run(plan, args.only or frozenset(SECTIONS))
    except (BenchError, ClareError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    mode = "quick" if args.quick else "full"
    command = "python -m bench" + (" --quick" if args.quick else "")
    text = render(sections, this_machine(REPO), mode=mode, command=command)
    # A partial run never replaces the whole report unless asked to.
    default = None if args.quick or args.only else DEFAULT_OUT
    out = args.out if args.out is not None else default
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + kept_fleet_section(out), encoding="utf-8")
        _progress(f"report written to {out}")
    else:
        print(text)
    if args.json is not None:
        figures = [f.to_json() for s in sections for f in s.figures]
        args.json.write_text(json.dumps({"mode": mode, "figures": figures}, indent=1))
    for failure in failures:
        _progress(f"FAILED {failure}")
    return 1 if failures else 0
