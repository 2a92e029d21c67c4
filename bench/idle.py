"""What a quiet host costs, and how soon a new session is noticed.

1. Idle footprint: a fresh instance under `clare up`, left alone; the CPU time
   every process of the stack (`clare up` and its nodes) uses over a window,
   scaled to an hour, and their total PSS (proportional set size: shared
   pages split between the processes sharing them, so the sum is what the
   stack costs the machine). Twice: with no session and no peer, and with 20
   idle sessions (session files and transcripts that do not change) and two
   peers (instances of their own, writer and gossip, connected both ways).
   Baseline for memory: as many bare Python processes, each importing trio,
   pyzmq and msgpack and sleeping: the least a stack of that many processes
   can hold.
2. Session noticed: a session file written into Claude Code's folder, timed
   until the writer publishes its ``SessionObserved``. Baseline: the same file
   written into a folder this process watches with inotify, timed until the
   event is read: the least any watcher can take.

Every session file names this very process, with its real start time, so
the poller's liveness checks are real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import zmq

from bench.figures import Figure, Section, at_most, percentile
from bench.procs import BenchError, cpu_seconds
from bench.stack import Stack
from clare.bus import published
from clare.core.errors import ProtocolError
from clare.sessions.claude_home import transcript_path

if TYPE_CHECKING:
    from collections.abc import Iterator

CPU_AIM_S_PER_H = 2.0
PSS_AIM_MB = 80.0
NOTICED_AIM_MS = 200.0
#: Left alone this long after `clare up` before the window opens: start-up is not idle.
SETTLE_S = 10.0
PEERS = 2
SESSIONS = 20
_BARE = "import trio, zmq, msgpack, sqlite3; trio.run(trio.sleep_forever)"


def pss_kb(pid: int) -> int:
    """The proportional set size of a live process, in kB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _start_ticks(pid: int) -> str:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        return f.read().rsplit(")", 1)[1].split()[19]


def write_session(claude: Path, name: str, cwd: Path, *, transcript: bool = True) -> str:
    """A session file naming this process (and its transcript); returns the session id."""
    session = str(uuid.uuid4())
    me = os.getpid()
    data = {
        "pid": me, "sessionId": session, "cwd": str(cwd), "startedAt": int(time.time() * 1000),
        "procStart": _start_ticks(me), "version": "2.1.328", "status": "idle",
        "kind": "interactive", "name": name, "updatedAt": int(time.time() * 1000),
    }  # fmt: skip
    if transcript:
        path = transcript_path(claude, str(cwd), session)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = {
            "type": "user", "uuid": str(uuid.uuid4()), "sessionId": session, "cwd": str(cwd),
            "timestamp": "2026-12-01T10:00:00.000Z", "version": "2.1.328",
            "message": {"role": "user", "content": f"work on {name}"},
        }  # fmt: skip
        path.write_text(json.dumps(line) + "\n")
    (claude / "sessions").mkdir(parents=True, exist_ok=True)
    (claude / "sessions" / f"{name}.json").write_text(json.dumps(data))
    return session


def _claude_folder(stack: Stack) -> Path:
    # Never the machine's own ~/.claude: its sessions are not the benchmark's.
    claude = stack.home / "claude"
    (claude / "sessions").mkdir(parents=True, exist_ok=True)
    stack.env["CLAUDE_CONFIG_DIR"] = str(claude)
    return claude


def _window(stack: Stack, window_s: float) -> tuple[float, float, dict[str, float]]:
    """CPU seconds per hour of the whole stack over ``window_s``, its PSS in MB, by node."""
    pids = stack.node_pids()
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(window_s)
    used: dict[str, float] = {}
    for name, pid in pids.items():
        start, end = before[name], cpu_seconds(pid)
        if start is None or end is None:
            raise BenchError(f"the {name} process ended during the idle window")
        used[name] = (end - start) * 3600 / window_s
    pss_mb = sum(pss_kb(pid) for pid in pids.values()) / 1024
    return sum(used.values()), pss_mb, used


def _bare_pss_mb(processes: int) -> float:
    children = [subprocess.Popen([sys.executable, "-c", _BARE]) for _ in range(processes)]
    try:
        time.sleep(2.0)
        return sum(pss_kb(child.pid) for child in children) / 1024
    finally:
        for child in children:
            child.kill()
            child.wait()


def _peered(stack: Stack, peers: list[Stack]) -> None:
    for i, peer in enumerate(peers):
        stack.add_peer(f"peer-{i}", peer.config.gossip_port, peer.public_key())
        peer.add_peer("measured", stack.config.gossip_port, stack.public_key())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        links = stack.sync_status().get("peers", [])
        if len(links) == len(peers) and all(link.get("connected") for link in links):
            return
        time.sleep(0.2)
    raise BenchError("the peers did not connect within 30 s")


def _peer_stacks(count: int) -> Iterator[Stack]:
    for i in range(count):
        yield Stack(prefix=f"cbp{i}")


def idle(window_s: float, sessions: int = SESSIONS, peers: int = PEERS) -> Section:
    settle_s = min(SETTLE_S, window_s)
    with Stack(prefix="cbi") as stack:
        _claude_folder(stack)
        stack.up()
        time.sleep(settle_s)
        processes = len(stack.node_pids())
        quiet_cpu, quiet_pss, quiet_by_node = _window(stack, window_s)
    bare_mb = _bare_pss_mb(processes)
    busy_cpu, busy_pss, busy_by_node = _busy_window(window_s, settle_s, sessions, peers)
    by_node = ", ".join(
        f"{name} {quiet_by_node[name]:.2f} / {busy_by_node.get(name, 0):.2f}"
        for name in sorted(quiet_by_node)
    )
    cpu_aim = (at_most(CPU_AIM_S_PER_H),)
    pss_aim = (at_most(PSS_AIM_MB),)
    bare = f"{processes} bare Python processes (trio, pyzmq, msgpack imported)"
    return Section(
        "Idle footprint",
        f"""
A fresh instance under `clare up`, left alone for {settle_s:.0f} s after start, then
measured over a window of {window_s:.0f} s: the CPU time (user + system, from
/proc/PID/stat) of `clare up` and every node, scaled to an hour, and the sum of their
PSS (/proc/PID/smaps_rollup). First with no session and no peer; then, on another fresh
instance, with {sessions} idle sessions (session files and transcripts that do not
change, naming a live process) and {peers} peers (instances of their own running writer,
projector and gossip, connected both ways), whose own processes are not counted. CPU seconds per
hour by process, quiet / with sessions and peers: {by_node}. The memory baseline is
{bare}, each sleeping in trio: the floor of any stack of that many Python processes.
""",
        [
            Figure("idle CPU, no sessions, no peers", quiet_cpu, "s/h", aims=cpu_aim),
            Figure(
                "idle PSS of the stack, no sessions, no peers",
                quiet_pss,
                "MB",
                baseline=bare_mb,
                baseline_name=bare,
                aims=pss_aim,
            ),
            Figure(f"idle CPU, {sessions} sessions, {peers} peers", busy_cpu, "s/h", aims=cpu_aim),
            Figure(
                f"idle PSS of the stack, {sessions} sessions, {peers} peers",
                busy_pss,
                "MB",
                baseline=bare_mb,
                baseline_name=bare,
                aims=pss_aim,
            ),
        ],
    )


def _busy_window(
    window_s: float, settle_s: float, sessions: int, peers: int
) -> tuple[float, float, dict[str, float]]:
    others = list(_peer_stacks(peers))
    entered: list[Stack] = []
    try:
        for peer in others:
            entered.append(peer.__enter__())
            peer.up("writer,projector,gossip")
        with Stack(prefix="cbi") as stack:
            claude = _claude_folder(stack)
            work = stack.home / "work"
            for i in range(sessions):
                cwd = work / f"project-{i % 5}"
                cwd.mkdir(parents=True, exist_ok=True)
                write_session(claude, f"idle-{i}", cwd)
            stack.up()
            _peered(stack, others)
            time.sleep(settle_s)
            return _window(stack, window_s)
    finally:
        for peer in entered:
            peer.__exit__(None, None, None)


def noticed(samples: int, pause_s: float = 0.3) -> Section:
    with Stack(prefix="cbn") as stack:
        claude = _claude_folder(stack)
        stack.up()
        time.sleep(2.0)  # the poller's first pass is done
        work = stack.home / "work"
        work.mkdir()
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect(stack.endpoints.writer_events)
        time.sleep(0.5)  # the subscription reaches the writer
        taken: list[float] = []
        try:
            for i in range(samples):
                started = time.perf_counter()
                session = write_session(claude, f"noticed-{i}", work, transcript=False)
                _wait_for_session(sub, session)
                taken.append((time.perf_counter() - started) * 1000)
                (claude / "sessions" / f"noticed-{i}.json").unlink()
                time.sleep(pause_s)
        finally:
            sub.close()
    floor = _inotify_floor(samples)
    aims = (at_most(NOTICED_AIM_MS),)
    base = "a file noticed through inotify by a process watching its folder"
    return Section(
        "Session noticed",
        f"""
{samples} session files written one by one into the Claude Code folder of a running
instance (each naming a live process), each timed from just before the write until the
writer publishes the session's `SessionObserved` (read off the writer's PUB), then
removed; {pause_s:.1f} s between them. Baseline: the same write into a folder this
process watches with inotify, timed until the event is read.
""",
        [
            Figure(
                "session file → SessionObserved, p50",
                percentile(taken, 50),
                "ms",
                baseline=percentile(floor, 50),
                baseline_name=base,
            ),
            Figure(
                "session file → SessionObserved, p99",
                percentile(taken, 99),
                "ms",
                baseline=percentile(floor, 99),
                baseline_name=base,
                aims=aims,
            ),
        ],
    )


def _wait_for_session(sub: zmq.Socket[bytes], session: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        if not sub.poll(int(left * 1000)):
            break
        frames = sub.recv_multipart()
        try:
            events = published.events_in(frames[-1])
        except ProtocolError:
            continue
        for event in events:
            if event.kind == "SessionObserved" and event.data().get("session") == session:
                return
    raise BenchError(f"session {session} was not noticed within {timeout_s:.0f} s")


def _inotify_floor(samples: int) -> list[float]:
    import asyncinotify

    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"cbw-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    taken = []
    try:
        with asyncinotify.Inotify(sync_timeout=5.0) as inotify:
            inotify.add_watch(folder, asyncinotify.Mask.CLOSE_WRITE)
            for i in range(samples):
                started = time.perf_counter()
                (folder / f"{i}.json").write_text("{}")
                if inotify.sync_get() is None:
                    raise BenchError("inotify did not report a file written")
                taken.append((time.perf_counter() - started) * 1000)
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return taken
