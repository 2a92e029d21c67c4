"""The harness runs end to end in quick mode: a real stack, every benchmark, a report.

It checks that the harness works, not the figures: those depend on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_S = 120


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
        "acknowledged commands/s, 16 clients",
        "`clare task add` wall, median",
        "`clare hook` wall, median",
        "committed → visible in views, p99 (from send)",
        "rebuild, events/s",
        "peak RSS, writer node",
        "peak RSS, projector node",
    ):
        assert any(name.startswith(expected) for name in names), expected
    for figure in figures:
        # Every figure has a number, except a slot whose subject is not built yet.
        assert figure["value"] is not None or figure["note"].startswith("not built yet")
        if figure["baseline"] is not None:
            assert figure["baseline"] > 0
            assert figure["ratio"] is not None
    # No stack is left behind: the harness stops what it started.
    leftovers = [p for p in Path("/tmp").glob("cb*/run/up.json") if p.stat().st_mtime > 0]
    running = [p for p in leftovers if _alive(json.loads(p.read_text())["pid"])]
    assert not running


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
