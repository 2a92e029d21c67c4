"""Real Clare instances under attack: a steady command load, node kills, figures.

Builds on ``tests.integration.stack.Stack`` (one instance driven through the
real CLI). What this adds: a load of ``task.add`` commands from several client
threads that records every acknowledged command and its latency, checks that
every acknowledged command is stored exactly once, a synced pair of instances,
and the resident memory of every node.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clare.bus.client import CommandClient
from clare.bus.endpoints import WRITER_COMMANDS
from clare.core.errors import ClareError
from clare.runtime import config as config_mod
from clare.runtime.node_names import START_ORDER
from tests.integration.stack import Stack, short_home, stored_events

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.core.events import Event

NODES = START_ORDER


def new_stack() -> Stack:
    """An initialised instance in a short temp home, with its own Claude Code folder."""
    home = short_home()
    stack = Stack(home)
    claude = home / "claude"
    claude.mkdir()
    stack.env["CLAUDE_CONFIG_DIR"] = str(claude)
    stack.init()
    return stack


def remove(stack: Stack) -> None:
    stack.down()
    shutil.rmtree(stack.home, ignore_errors=True)


def peer(a: Stack, b: Stack) -> None:
    """Make a and b sync with each other (over loopback, CURVE keys from `clare keys`)."""
    for x, y in ((a, b), (b, a)):
        key = y.clare("keys", "show").stdout.strip()
        port = config_mod.load(y.paths).gossip_port
        x.clare("sync", "peer", "add", f"peer-{y.home.name}", f"tcp://127.0.0.1:{port}",
                "--key", key)  # fmt: skip


def vector(stack: Stack) -> dict[str, int]:
    return dict(stack.json("sync", "status").get("vector", {}))


def wait_converged(stacks: list[Stack], timeout_s: float) -> dict[str, int]:
    """Until every instance holds the same events contiguously; returns that vector."""
    deadline = time.monotonic() + timeout_s
    vectors: list[dict[str, int]] = []
    while time.monotonic() < deadline:
        vectors = [vector(s) for s in stacks]
        if all(v == vectors[0] for v in vectors):
            return vectors[0]
        time.sleep(0.25)
    raise AssertionError(f"no convergence in {timeout_s} s: {vectors}")


def client(stack: Stack, timeout_s: float = 2.0, attempts: int = 15) -> CommandClient:
    return CommandClient(f"ipc://{stack.paths.runtime_dir / WRITER_COMMANDS}",
                         timeout_s=timeout_s, attempts=attempts)  # fmt: skip


def event_count(stack: Stack) -> int:
    return len(stored_events(stack))


def own_event_count(stack: Stack) -> int:
    """Events this host's writer made on the tests' commands.

    Not those synced from a peer meanwhile, nor the poller's own: a session a
    test command recorded on this host is one Claude Code does not show, so the
    poller's next pass (one a second) records it ended.
    """
    machine_id = config_mod.load(stack.paths).machine_id
    return sum(
        1
        for event in stored_events(stack)
        if event.origin == machine_id and not _a_session_ending(event)
    )


def _a_session_ending(event: Event) -> bool:
    return event.kind == "SessionObserved" and event.data().get("status") == "ended"


@dataclass
class Load:
    """``clients`` threads adding tasks to ``project`` on ``stack`` until stopped.

    Every acknowledged command is recorded with its event id, its title (unique)
    and its latency; a command the client gave up on is counted, not recorded:
    it may or may not be stored, but never twice.
    """

    stack: Stack
    project: str
    clients: int
    label: str = "load"
    limit: int | None = None  # commands per client, None: until stopped
    acked: dict[str, str] = field(default_factory=dict)  # title -> event id
    latencies_s: list[float] = field(default_factory=list)
    gave_up: int = 0
    errors: list[BaseException] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self._stop.clear()
        batch = len(self._threads)
        self._threads += [
            threading.Thread(target=self._work, args=(f"{self.label}{batch + n}",), daemon=True)
            for n in range(self.clients)
        ]
        for thread in self._threads[batch:]:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in self._threads), "a load client hung"

    def wait(self) -> None:
        for thread in self._threads:
            thread.join(timeout=600)

    def _work(self, name: str) -> None:
        i = 0
        try:
            with client(self.stack) as c:
                while not self._stop.is_set() and (self.limit is None or i < self.limit):
                    title = f"{name}-{i}"
                    i += 1
                    start = time.perf_counter()
                    try:
                        result = c.call("task.add", {"project": self.project, "title": title})
                    except ClareError:
                        with self._lock:
                            self.gave_up += 1
                        continue
                    elapsed = time.perf_counter() - start
                    with self._lock:
                        self.acked[title] = result["events"][0]["id"]
                        self.latencies_s.append(elapsed)
        except BaseException as exc:  # reported by check(), in the test's thread
            self.errors.append(exc)

    def check_exactly_once(self) -> None:
        """Every acknowledged command is stored exactly once, under its acknowledged id."""
        assert self.errors == []
        created: dict[str, list[str]] = {}
        for event in stored_events(self.stack):
            if event.kind == "TaskCreated":
                title = str(event.data().get("title", ""))
                if title.startswith(self.label):  # other tests share the instance
                    created.setdefault(title, []).append(event.id)
        for title, ids in created.items():
            assert len(ids) == 1, f"{title!r} stored {len(ids)} times"
        missing = [t for t, event_id in self.acked.items() if created.get(t) != [event_id]]
        assert missing == [], f"{len(missing)} acknowledged commands not stored: {missing[:5]}"


def percentiles_ms(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)

    return {"p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "max": at(1.0)}


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def node_pids(stack: Stack) -> dict[str, int]:
    return {name: stack.node_pid(name) for name in NODES}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_all_up(stack: Stack, timeout_s: float = 30) -> dict[str, int]:
    """Until every node has a live pid and the writer answers; returns the pids."""

    def ready() -> bool:
        pids = node_pids(stack)
        return all(p and alive(p) for p in pids.values()) and stack.answering()

    stack.wait_until(ready, timeout_s, "every node up")
    return node_pids(stack)


def kill_node(stack: Stack, name: str, timeout_s: float = 30) -> int:
    """SIGKILL node ``name``; wait until the supervisor runs a new one; returns its pid."""
    old = stack.node_pid(name)
    assert old, f"{name} is not running"
    os.kill(old, signal.SIGKILL)
    stack.wait_until(
        lambda: stack.node_pid(name) not in (0, old) and alive(stack.node_pid(name)),
        timeout_s,
        f"{name} restarted",
    )
    return stack.node_pid(name)


@dataclass
class Pair:
    """Two synced instances, a and b, each running every node."""

    a: Stack
    b: Stack

    def stacks(self) -> list[Stack]:
        return [self.a, self.b]


def open_pair() -> Iterator[Pair]:
    a, b = new_stack(), new_stack()
    try:
        peer(a, b)
        a.up()
        b.up()
        for s in (a, b):
            wait_all_up(s)
        a.clare("project", "add", "pa")
        b.clare("project", "add", "pb")
        wait_converged([a, b], 30)
        yield Pair(a, b)
    finally:
        remove(a)
        remove(b)
