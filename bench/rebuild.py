"""Rebuild rate: folding every stored event into fresh views, beside a raw read of the rows.

Both run in a child process of their own (``python -m bench.rebuild``), so
each starts from the same state and its peak memory is its own. The child
prints one JSON line: events, seconds and VmHWM.

- ``rebuild``: ``Projection.rebuild`` into an empty views DB: the code path
  of ``clare rebuild`` and ``clare verify``.
- ``raw``: every row read with one SELECT in seq order and its body decoded
  with ``msgpack.unpackb``: the floor under any rebuild.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import msgpack

from bench.figures import Figure, Section, at_least, at_most, share_of
from bench.procs import BenchError, proc_status
from clare.store.eventlog import open_events_reader
from clare.store.projection import Projection
from clare.store.views import open_views_db

RSS_AIM_MB = 80.0


def _child(mode: str, events_db: Path, views_db: Path) -> dict[str, float]:
    repo = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(repo), "CLARE_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.rebuild", mode, str(events_db), str(views_db)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"the {mode} child failed: {done.stderr[-2000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def rebuild(events_db: Path, scratch: Path) -> Section:
    raw = _child("raw", events_db, scratch / "unused.db")
    ours = _child("rebuild", events_db, scratch / "rebuilt-views.db")
    if ours["events"] != raw["events"]:
        raise BenchError(f"rebuild folded {ours['events']} events of {raw['events']}")
    n = int(raw["events"])
    figures = [
        Figure(
            f"rebuild, events/s ({n:,} events)",
            ours["events"] / ours["seconds"],
            "/s",
            raw["events"] / raw["seconds"],
            "raw SQLite read + msgpack decode",
            (at_least(150_000), share_of(0.25)),
        ),
        Figure(
            f"rebuild, peak RSS ({n:,} events)",
            ours["vmhwm_kb"] / 1024,
            "MB",
            raw["vmhwm_kb"] / 1024,
            "raw read + decode process",
            (at_most(RSS_AIM_MB),),
        ),
    ]
    return Section(
        "Rebuild",
        f"""
{n:,} events written straight into an events DB with the real `EventLog` (a project, then
about 1 task per 100 events, 40% notes, 30% state changes along allowed transitions,
5% assignments, 25% session snapshots over up to 1,000 sessions). A fresh process runs
`Projection.rebuild` into an empty views DB; another reads the same rows with one SELECT
and decodes each body with msgpack. Peak RSS is each process's VmHWM.
""",
        figures,
    )


def _run_rebuild(events_db: Path, views_db: Path) -> int:
    views = open_views_db(views_db)
    events = open_events_reader(events_db)
    try:
        return Projection(views, events).rebuild()
    finally:
        views.close()
        events.close()


def _run_raw(events_db: Path) -> int:
    conn = open_events_reader(events_db)
    n = 0
    try:
        for row in conn.execute(
            "SELECT seq, id, origin, origin_seq, hlc, kind, body FROM events ORDER BY seq"
        ):
            msgpack.unpackb(row[6], raw=False)
            n += 1
    finally:
        conn.close()
    return n


def main(argv: list[str]) -> int:
    mode, events_db, views_db = argv
    started = time.perf_counter()
    if mode == "rebuild":
        n = _run_rebuild(Path(events_db), Path(views_db))
    elif mode == "raw":
        n = _run_raw(Path(events_db))
    else:
        print(f"unknown mode {mode!r}: rebuild or raw", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    hwm = proc_status(os.getpid()).get("VmHWM", 0)
    print(json.dumps({"events": n, "seconds": seconds, "vmhwm_kb": hwm}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
