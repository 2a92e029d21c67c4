"""The poller's work: ``poll`` for the harness, ``python -m bench.sessions`` on its own.

1. A poll pass over N live sessions whose transcripts hold about M MB in all
   (default 1,000 and 1,000 MB), when nothing is new: CPU time per pass of the
   Claude Code source plus the poller core. Every session file names this very
   process (with its real start time), so each pass does real ``/proc`` checks.
2. The parse rate of the first pass, which reads every transcript from byte 0.

(``clare hook`` wall time is measured by ``bench.wall`` against the harness's
running stack.)

Transcripts are built from real Claude Code 2.1.328 lines (the test fixture),
repeated with fresh uuids and message ids, so the parser does its real work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.figures import Figure, Section, at_least, at_most
from bench.procs import BenchError
from clare.app.session_poll import PollerCore
from clare.sessions.claude_home import transcript_path
from clare.sessions.claude_source import ClaudeCodeSource

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "claude-code-2.1.328"


def sample_lines() -> list[str]:
    lines: list[str] = []
    for path in sorted(FIXTURES.rglob("*.jsonl")):
        lines += [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"no transcript fixtures under {FIXTURES}")
    return lines


def build_fleet(claude: Path, sessions: int, total_mb: int) -> int:
    """Write ``sessions`` session files (all naming this process) and transcripts."""
    lines = sample_lines()
    block = "\n".join(lines) + "\n"
    per_file = total_mb * 1024 * 1024 // sessions
    me = os.getpid()
    with open(f"/proc/{me}/stat") as f:
        ticks = f.read().rsplit(")", 1)[1].split()[19]
    (claude / "sessions").mkdir(parents=True, exist_ok=True)
    written = 0
    for i in range(sessions):
        session = str(uuid.uuid4())
        cwd = f"/src/project-{i % 50}"
        data = {
            "pid": me,
            "sessionId": session,
            "cwd": cwd,
            "procStart": ticks,
            "status": "idle",
            "startedAt": 1,
            "updatedAt": 2,
        }
        # One file per session; the pid in the name need not be the pid inside.
        (claude / "sessions" / f"{100000 + i}.json").write_text(json.dumps(data))
        path = transcript_path(claude, cwd, session)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            size = 0
            n = 0
            while size < per_file:
                chunk = block.replace('"msg_', f'"msg_{n}_').replace(
                    '"sessionId":"', f'"sessionId":"{session}", "x":"'
                )
                f.write(chunk)
                size += len(chunk)
                n += 1
            written += size
    return written


def bench_poll(sessions: int, total_mb: int, passes: int) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="cbp", dir="/tmp"))
    try:
        claude = root / ".claude"
        t0 = time.perf_counter()
        size = build_fleet(claude, sessions, total_mb)
        built_s = time.perf_counter() - t0
        source = ClaudeCodeSource(claude)
        core = PollerCore("00000000-0000-4000-8000-000000000001")

        def one_pass() -> tuple[int, int]:
            result = source.scan(int(time.time() * 1000))
            planned = core.plan(source.name, result, {}, int(time.time() * 1000))
            for snap in planned:
                core.recorded(snap)
            return len(planned), result.bytes_read

        wall0, cpu0 = time.perf_counter(), time.process_time()
        first_recorded, first_read = one_pass()
        first_wall, first_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        cpu_times = []
        for _ in range(passes):
            cpu0 = time.process_time()
            recorded, read = one_pass()
            cpu_times.append(time.process_time() - cpu0)
            if (recorded, read) != (0, 0):
                raise BenchError(f"a quiet pass recorded {recorded} and read {read} bytes")
        return {
            "sessions": sessions,
            "transcript_bytes": size,
            "build_s": round(built_s, 1),
            "first_pass_wall_s": round(first_wall, 2),
            "first_pass_cpu_s": round(first_cpu, 2),
            "first_pass_recorded": first_recorded,
            "parse_rate_mb_s": round(first_read / first_cpu / 1e6, 1),
            "quiet_pass_cpu_ms_median": round(statistics.median(cpu_times) * 1000, 1),
            "quiet_pass_cpu_ms_max": round(max(cpu_times) * 1000, 1),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def poll(sessions: int, total_mb: int, passes: int) -> Section:
    """The harness's section: quiet-pass CPU and first-pass parse rate."""
    found = bench_poll(sessions, total_mb, passes)
    mb = found["transcript_bytes"] / 1e6
    return Section(
        "Poll passes over Claude Code sessions",
        f"""
{sessions:,} live session files (each naming the harness's own process, so every pass
checks /proc for real) with {mb:,.0f} MB of transcripts built from real Claude Code
2.1.328 lines. The first pass of the Claude Code source plus the poller core reads every
transcript from byte 0: bytes read over its CPU time is the parse rate. Then {passes}
passes when nothing is new: the median of their CPU time (process time, in the harness's
own process; no stack involved).
""",
        [
            Figure(
                f"poll pass, {sessions:,} idle transcripts, CPU, median",
                found["quiet_pass_cpu_ms_median"],
                "ms",
                aims=(at_most(50.0),),
            ),
            Figure(
                f"poll pass, {sessions:,} idle transcripts, CPU, max",
                found["quiet_pass_cpu_ms_max"],
                "ms",
            ),
            Figure(
                "new transcript bytes parsed",
                found["parse_rate_mb_s"],
                "MB/s",
                aims=(at_least(40.0),),
            ),
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(bench_poll(args.sessions, args.mb, args.passes), indent=2))


if __name__ == "__main__":
    main()
