"""Wall time of short-lived commands, as a user (or a Claude Code hook) starts them.

Each run is a new process, so the figure includes the interpreter's start and
every import: that is what a user waits for. Runs of the command and of the
baseline (``python -c "import zmq, msgpack"``, the least any Python client of
the bus must pay) alternate, so drift in the machine's load hits both alike.

``clare hook`` gets what Claude Code sends a UserPromptSubmit hook on stdin,
for a transcript that exists, and talks to the running writer. A hook whose
writer does not answer in time spools its command instead (and is faster for
it): every run is checked for that, and spooled runs are reported.
"""

from __future__ import annotations

import compileall
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import clare
from bench.figures import Figure, Section, median, percentile, within
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


def hook_input(stack: Stack) -> bytes:
    """What Claude Code 2.1.328 sends a UserPromptSubmit hook on stdin."""
    session = str(uuid.uuid4())
    cwd = stack.home / "src" / "bench"
    transcript = stack.home / "claude" / "projects" / "-src-bench" / f"{session}.jsonl"
    transcript.parent.mkdir(parents=True, exist_ok=True)
    cwd.mkdir(parents=True, exist_ok=True)
    prompt = {"type": "user", "sessionId": session, "message": {"role": "user", "content": "go"}}
    transcript.write_text(json.dumps(prompt) + "\n")
    return json.dumps(
        {
            "session_id": session,
            "transcript_path": str(transcript),
            "cwd": str(cwd),
            "permission_mode": "default",
            "hook_event_name": HOOK_EVENT,
            "prompt": "what is next on my task?",
        }
    ).encode()


def compile_clare() -> None:
    """Write the bytecode of Clare's modules, as ``pip install`` does for a user.

    The baseline's modules (zmq, msgpack) were compiled when pip installed them.
    An editable install, or a shell with ``PYTHONDONTWRITEBYTECODE=1``, would
    leave Clare's to be compiled again on every run, which no installed user pays.
    """
    compileall.compile_dir(Path(clare.__file__).parent, quiet=1)


def task_add(stack: Stack, runs: int) -> Section:
    compile_clare()
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
`{BASELINE_NAME}`; medians of each. Clare's bytecode is written first, as `pip install`
does, so neither side compiles its modules on every run.
""",
        [figure],
    )


def hook(stack: Stack, runs: int) -> Section:
    compile_clare()
    argv = [*clare_command(), "hook", HOOK_EVENT]
    spool = stack.paths.spool_dir
    ours, base, spooled = [], [], 0
    stdin = hook_input(stack)
    _timed(argv, stack.env, stdin)  # warm-up
    _timed(BASELINE, stack.env, None)
    for _ in range(runs):
        ours.append(_timed(argv, stack.env, stdin))
        # The poller drains the spool within a second or so: looked at at once, a
        # spooled run still shows.
        spooled += spool.is_dir() and any(p.name.startswith("hooks") for p in spool.iterdir())
        base.append(_timed(BASELINE, stack.env, None))
    if spooled > runs // 2:
        raise BenchError(f"{spooled} of {runs} hook runs spooled: the writer did not answer")
    name = "`clare hook` wall"
    note = f"{spooled} of {runs} runs spooled their command" if spooled else ""
    figures = [
        Figure(
            f"{name}, {label}",
            stat(ours),
            "ms",
            stat(base),
            BASELINE_NAME,
            (within(1.5),),
            note=note,
        )
        for label, stat in (("median", median), ("p95", lambda xs: percentile(xs, 95)))
    ]
    return Section(
        "`clare hook` wall time",
        f"""
{runs} runs of `clare hook {HOOK_EVENT}` as new processes, with the JSON Claude Code sends
on stdin (session id, an existing transcript, cwd, permission mode, prompt), against the
running stack: each reads the views for undelivered messages and sends `session.hook` to
the writer. They alternate with `{BASELINE_NAME}`; median and p95 of each (Clare's
bytecode written first, as above). A run whose
writer did not answer within the hook's budget spools its command instead; such runs are
counted (none is the normal case).
""",
        figures,
    )
