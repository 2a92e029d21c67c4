"""Decisions across two hosts on loopback: a prompt asked on B, answered on A.

Two fresh instances (writer, projector, gossip), each the other's peer. Each
round starts the real hook on B (``clare hook PermissionRequest``, JSON on
stdin, as Claude Code runs it) and times

- ask -> listed on A: from B's writer publishing the ``DecisionAsked`` until
  A's projector announces the decision in its views (``clare decision list``
  on A shows it from then on);
- allow on A -> the hook prints it: from sending ``decision.make`` to A's
  writer until the hook's answer appears on its stdout.

The baselines, measured in the same run on the same pair: an ordinary
``task.add`` on B until A's views announce it, and one on A until B's writer
publishes it (what the waiting hook hears). Their ratio shows what deciding
adds to plain sync.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from typing import TYPE_CHECKING, Any

import zmq

from bench.figures import Figure, Section, at_most, percentile
from bench.procs import BenchError, clare_command
from bench.stack import Stack
from clare.bus import envelope, published
from clare.bus.endpoints import PROJECTOR_VIEWS, WRITER_EVENTS
from clare.core.errors import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

NODES = "writer,projector,gossip"
TIMEOUT_S = 10.0
SLOW_JOINER_S = 0.3
ASK = {
    "session_id": "bench-session",
    "cwd": "/tmp",
    "hook_event_name": "PermissionRequest",
    "tool_name": "Bash",
    "tool_input": {"command": "make deploy", "description": "deploy"},
    "permission_suggestions": [],
}


def _sub(stack: Stack, name: str, topic: bytes) -> zmq.Socket[Any]:
    sock: zmq.Socket[Any] = zmq.Context.instance().socket(zmq.SUB)
    sock.setsockopt(zmq.SUBSCRIBE, topic)
    sock.connect(stack.endpoints.ipc(name))
    return sock


def _until(sock: zmq.Socket[Any], match: Callable[[bytes], Any], what: str) -> Any:
    """The first frame of ``sock`` that ``match`` finds something in (BenchError after a while)."""
    deadline = time.monotonic() + TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        if not sock.poll(int(left * 1000) + 1, zmq.POLLIN):
            break
        *_, frame = sock.recv_multipart()
        found = match(frame)
        if found:
            return found
    raise BenchError(f"{what} not seen within {TIMEOUT_S:g} s")


def _asked(frame: bytes) -> str | None:
    try:
        events = published.events_in(frame)
    except ProtocolError:
        return None
    for event in events:
        if event.kind == "DecisionAsked":
            return str(event.data()["decision"])
    return None


def _names(entity: str) -> Callable[[bytes], bool]:
    def match(frame: bytes) -> bool:
        try:
            changed = envelope.decode(frame).get("changed")
        except ProtocolError:
            return False
        return isinstance(changed, dict) and any(
            isinstance(ids, list) and entity in ids for ids in changed.values()
        )

    return match


def _publishes(event_id: str) -> Callable[[bytes], bool]:
    def match(frame: bytes) -> bool:
        try:
            return any(e.id == event_id for e in published.events_in(frame))
        except ProtocolError:
            return False

    return match


def _hook(b: Stack) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*clare_command(), "hook", "PermissionRequest"], env=b.env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(ASK).encode())
    proc.stdin.close()
    proc.stdin = None
    return proc


def _round(
    a: Stack, b: Stack, socks: dict[str, zmq.Socket[Any]], client_a: Any
) -> tuple[float, float]:
    hook = _hook(b)
    try:
        decision = _until(socks["b_writer"], _asked, "the ask on B's writer")
        asked = time.perf_counter()
        _until(socks["a_views"], _names("d:" + decision), "the decision in A's views")
        listed = time.perf_counter()
        sent = time.perf_counter()
        client_a.call("decision.make", {"decision": decision, "behavior": "allow", "via": "cli"})
        assert hook.stdout is not None
        line = hook.stdout.readline()
        printed = time.perf_counter()
        if b'"allow"' not in line:
            raise BenchError(f"the hook printed {line[:200]!r}, not the answer")
        hook.communicate(timeout=TIMEOUT_S)
    finally:
        hook.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            hook.communicate(timeout=TIMEOUT_S)
    return (listed - asked) * 1000, (printed - sent) * 1000


def _baselines(
    a: Stack, socks: dict[str, zmq.Socket[Any]], client_a: Any, client_b: Any, i: int
) -> tuple[float, float]:
    sent = time.perf_counter()
    task = client_b.call("task.add", {"project": "bench", "title": f"b{i}", "author": "b@h"})
    _until(socks["a_views"], _names(str(task["task"])), "B's task in A's views")
    b_to_a = (time.perf_counter() - sent) * 1000
    sent = time.perf_counter()
    other = client_a.call("task.add", {"project": "bench", "title": f"a{i}", "author": "b@h"})
    _until(socks["b_writer"], _publishes(str(other["events"][-1]["id"])), "A's task on B")
    return b_to_a, (time.perf_counter() - sent) * 1000


def decisions(rounds: int) -> Section:
    with Stack("cda") as a, Stack("cdb") as b:
        a.add_peer("b", b.config.gossip_port, b.public_key())
        b.add_peer("a", a.config.gossip_port, a.public_key())
        a.up(NODES)
        b.up(NODES)
        a.clare("project", "add", "bench")
        socks = {
            "a_views": _sub(a, PROJECTOR_VIEWS, b"view"),
            "b_writer": _sub(b, WRITER_EVENTS, published.TOPIC),
        }
        listed: list[float] = []
        printed: list[float] = []
        plain_listed: list[float] = []
        plain_heard: list[float] = []
        try:
            time.sleep(SLOW_JOINER_S)
            with a.command_client() as client_a, b.command_client() as client_b:
                deadline = time.monotonic() + TIMEOUT_S  # B must know the project first
                while b.views_position() is None or not _knows_project(b):
                    if time.monotonic() > deadline:
                        raise BenchError("the project did not reach B")
                    time.sleep(0.05)
                for i in range(rounds):
                    ask_ms, allow_ms = _round(a, b, socks, client_a)
                    listed.append(ask_ms)
                    printed.append(allow_ms)
                    to_a, to_b = _baselines(a, socks, client_a, client_b, i)
                    plain_listed.append(to_a)
                    plain_heard.append(to_b)
        finally:
            for sock in socks.values():
                sock.close(linger=0)
    base_listed = percentile(plain_listed, 50)
    base_heard = percentile(plain_heard, 50)
    return Section(
        "Decisions across two hosts",
        f"""
Two fresh instances (writer, projector, gossip) on loopback, each the other's peer.
{rounds} rounds: the real `clare hook PermissionRequest` starts on B; "ask → listed on A"
runs from B's writer publishing the ask until A's projector announces the decision;
"allow on A → hook prints it" runs from sending `decision.make` to A's writer until the
hook's answer is on its stdout. Baselines, each round on the same pair: a `task.add` on
B until A's views announce it, and one on A until B's writer publishes it (what the
waiting hook hears). The aim: p99 under 300 ms each.
""",
        [
            Figure("ask → listed on A, p99", percentile(listed, 99), "ms", aims=(at_most(300.0),)),
            Figure(
                "ask → listed on A, p50",
                percentile(listed, 50),
                "ms",
                baseline=base_listed,
                baseline_name="task.add on B → A's views, p50",
            ),
            Figure(
                "allow on A → hook prints it, p99",
                percentile(printed, 99),
                "ms",
                aims=(at_most(300.0),),
            ),
            Figure(
                "allow on A → hook prints it, p50",
                percentile(printed, 50),
                "ms",
                baseline=base_heard,
                baseline_name="task.add on A → B's writer, p50",
            ),
        ],
    )


def _knows_project(stack: Stack) -> bool:
    done = subprocess.run(
        [*clare_command(), "project", "list", "--json"], env=stack.env,
        capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and b'"bench"' in done.stdout
