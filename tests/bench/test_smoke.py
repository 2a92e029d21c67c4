"""The harness runs end to end in quick mode: a real stack, every benchmark, a report.

It checks that the harness works, not the figures: those depend on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import NODES

REPO = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_S = 180


def _run_quick(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    out, figures = tmp_path / "benchmarks.md", tmp_path / "figures.json"
    argv = [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--json", str(figures)]
    # Its own session, so a hung run can be stopped with everything it started.
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=SMOKE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(argv, proc.returncode, stdout, stderr), out, figures


def test_quick_run_writes_a_report_with_every_benchmark(tmp_path: Path) -> None:
    started = time.time()
    done, out, figures_file = _run_quick(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    report = out.read_text()
    assert "| figure | value | baseline (same run) | ratio | aim | met? |" in report
    assert "quick mode" in report
    assert "- commit: " in report
    assert "cores" in report

    figures = json.loads(figures_file.read_text())["figures"]
    names = [f["name"] for f in figures]
    for expected in (
        "acknowledged command, 1 client, p50",
        "acknowledged command, 1 client, p99",
        "acknowledged command, 1 client, p50, vs the process-boundary floor",
        "raw pyzmq round trip to a process doing that insert, p50",
        "raw pyzmq round trip, nothing done, p50",
        "acknowledged commands/s, 16 clients",
        "`clare task add` wall, median",
        "`clare hook` wall, median",
        "committed → visible in views, p99 (from send)",
        "`clare hook` wall, p95",
        "rebuild, events/s",
        "poll pass, 20 idle transcripts, CPU, median",
        "message to an idle Claude Code → model request, inbox socket, p50",
        "inbox socket write until read, p99",
        "dispatch on a to b → b's model has the task, p50",
        "new transcript bytes parsed",
        "overview page, ",
        "committed → SSE message, p99 (from send)",
        "`/api/v1/status` requests/s",
        "sync catch-up, empty host",
        "joining host's projector CPU per event",
        "sync catch-up, long notes",
        "joining host's projector CPU per event, long notes",
        "propagation to 2 other hosts' views, p99",
        "bytes on the wire per event, bulk catch-up",
        "bytes on the wire per event, pushed one at a time",
        "peak RSS, gossip node, joining host of the catch-up",
        "idle CPU, no sessions, no peers",
        "idle PSS of the stack, 20 sessions, 2 peers",
        "session file → SessionObserved, p99",
        *(f"peak RSS, {node} node (" for node in NODES),
    ):
        assert any(name.startswith(expected) for name in names), expected
    for figure in figures:
        assert figure["value"] is not None, figure
        if figure["baseline"] is not None:
            assert figure["baseline"] > 0
            assert figure["ratio"] is not None
    # No stack is left behind: the harness stops what it started.
    # (Only the homes this run made: other instances on the machine are not ours.)
    leftovers = [p for p in Path("/tmp").glob("c[bjp]*/run/up.json") if _since(p, started)]
    running = [p for p in leftovers if _alive(json.loads(p.read_text())["pid"])]
    assert not running


def _since(path: Path, started: float) -> bool:
    try:
        return path.parent.parent.stat().st_ctime >= started
    except OSError:
        return False  # removed meanwhile: nothing left behind there


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
