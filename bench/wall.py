"""Wall time of short-lived commands, as a user (or a Claude Code hook) starts them.

Each run is a new process, so the figure includes the interpreter's start and
every import: that is what a user waits for. Runs of the command and of the
baseline (``python -c "import zmq, msgpack"``, the least any Python client of
the bus must pay) alternate, so drift in the machine's load hits both alike.

``clare hook`` is built in another part of the project; until it exists, its
figures say "not built yet" rather than measure something else.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

from bench.figures import Figure, Section, median, missing, percentile, within
from bench.procs import BenchError, clare_command

if TYPE_CHECKING:
    from collections.abc import Sequence

    from bench.stack import Stack

BASELINE = [sys.executable, "-c", "import zmq, msgpack"]
BASELINE_NAME = 'python -c "import zmq, msgpack"'
HOOK_EVENT = "UserPromptSubmit"


def _timed(argv: Sequence[str], env: dict[str, str], stdin: bytes | None) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, input=stdin, capture_output=True, check=False)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        raise BenchError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-500:]!r}")
    return elapsed_ms


def compare(
    argv: Sequence[str], env: dict[str, str], runs: int, stdin: bytes | None = None
) -> tuple[list[float], list[float]]:
    """(command samples, baseline samples) in ms, interleaved, after one warm-up of each."""
    _timed(argv, env, stdin)
    _timed(BASELINE, env, None)
    ours, base = [], []
    for _ in range(runs):
        ours.append(_timed(argv, env, stdin))
        base.append(_timed(BASELINE, env, None))
    return ours, base


def hook_exists(stack: Stack) -> bool:
    done = subprocess.run(
        [*clare_command(), "hook", "--help"], env=stack.env, capture_output=True, check=False
    )
    return done.returncode == 0


def hook_input(stack: Stack) -> bytes:
    """What Claude Code sends a UserPromptSubmit hook on stdin."""
    session = str(uuid.uuid4())
    return json.dumps(
        {
            "session_id": session,
            "transcript_path": str(stack.home / "transcripts" / f"{session}.jsonl"),
            "cwd": str(stack.home),
            "hook_event_name": HOOK_EVENT,
            "prompt": "what is next?",
        }
    ).encode()


def task_add(stack: Stack, runs: int) -> Section:
    argv = [*clare_command(), "task", "add", "wall time", "-p", "bench"]
    ours, base = compare(argv, stack.env, runs)
    figure = Figure(
        "`clare task add` wall, median",
        median(ours),
        "ms",
        median(base),
        BASELINE_NAME,
        (within(2.5),),
    )
    return Section(
        "`clare task add` wall time",
        f"""
{runs} runs of `clare task add "wall time" -p bench` as new processes against the running
stack (the installed `clare` script, not a shell shim), alternating with {runs} runs of
`{BASELINE_NAME}`; medians of each.
""",
        [figure],
    )


def hook(stack: Stack, runs: int) -> Section:
    method = f"""
{runs} runs of `clare hook {HOOK_EVENT}` with a UserPromptSubmit JSON on stdin, as Claude
Code runs it, alternating with `{BASELINE_NAME}`; median and p95 of each. Measured only
once `clare hook` exists in this Clare (checked at run time with `clare hook --help`).
"""
    name = "`clare hook` wall"
    if not hook_exists(stack):
        why = "not built yet: this Clare has no `clare hook` command"
        return Section(
            "`clare hook` wall time",
            method,
            [missing(f"{name}, {s}", "ms", why, (within(1.5),)) for s in ("median", "p95")],
        )
    ours, base = compare([*clare_command(), "hook", HOOK_EVENT], stack.env, runs, hook_input(stack))
    figures = [
        Figure(f"{name}, median", median(ours), "ms", median(base), BASELINE_NAME, (within(1.5),)),
        Figure(
            f"{name}, p95",
            percentile(ours, 95),
            "ms",
            percentile(base, 95),
            BASELINE_NAME,
            (within(1.5),),
        ),
    ]
    return Section("`clare hook` wall time", method, figures)
