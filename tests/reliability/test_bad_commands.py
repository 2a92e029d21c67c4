"""Malformed commands and frames on the writer's ROUTER and on every PUB socket.

Every op in ``DECIDERS`` gets each of its fields replaced by a value of the wrong
type or out of range (the other fields valid); each must come back as a typed
error, write nothing, and leave every node running. Then Hypothesis throws
random and mutated frames (truncated, bit-flipped, invalid UTF-8, deeply nested
msgpack, oversized) at the ROUTER and, through XSUB, at every PUB socket.
"""

from __future__ import annotations

import contextlib
import random
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clare.bus import envelope, rpc
from clare.bus.endpoints import PUBLISHERS, WRITER_COMMANDS
from clare.core.errors import ClareError
from clare.domain.registry import DECIDERS
from clare.nodes import writer_core  # noqa: F401 - registers every op the writer knows
from tests.reliability.harness import client, node_pids, own_event_count

if TYPE_CHECKING:
    from tests.integration.stack import Stack
    from tests.reliability.harness import Pair

pytestmark = pytest.mark.slow

SNAPSHOT = {"session": "s-bad-input", "pid": 1, "name": "n", "status": "idle",
            "started_at": 1, "last_activity": 2, "tokens_in": 3, "tokens_out": 4}  # fmt: skip


def valid_args(task: str) -> dict[str, dict[str, Any]]:
    """Arguments each op would accept; the test spoils one field at a time."""
    author = {"author": "tester"}
    return {
        "project.add": {"name": "spoiled", "path": "/tmp/p", "description": "d"},
        "project.update": {"name": "pa", "path": "/tmp/q", "description": "d2"},
        "task.add": {"project": "pa", "title": "t", "body": "b", "priority": 1,
                     "tags": ["x"], "depends_on": [task], **author},
        "task.update": {"task": task, "title": "t2", "body": "b2", "priority": 2,
                        "tags": ["y"], "depends_on": [], **author},
        "task.state": {"task": task, "state": "blocked", "note": "n", **author},
        "task.assign": {"task": task, "assignee_kind": "host", "assignee": "h", **author},
        "task.unassign": {"task": task, **author},
        "task.note": {"task": task, "text": "note", **author},
        "host.name": {"name": "h2", "groups": ["g"]},
        "session.observe": {"snapshot": SNAPSHOT},
        "session.hook": {"session": "s-hook", "event": "Notification", "at": 5, "cwd": "/tmp",
                         "project": "pa", "prompt": "p", "waiting_for": "", "delivered": []},
        "task.claim": {"session": "s-claim", "candidates": [task], **author},
        "group.add": {"name": "g1", "members": ["host:h"]},
        "group.remove": {"name": "g1", "members": ["host:h"]},
        "message.send": {"target": "all", "text": "hello", "sent_at": 1, "ttl_ms": 1000,
                         **author},
        "message.deliver": {"session": "s-d", "messages": ["m1"], "via": "pull", "at": 1},
        "task.import": {"task": "t-00000000aa", "project": "pa", "title": "imported", "body": "",
                        "priority": 0, "tags": ["x"], "depends_on": [task], "state": "done",
                        **author},
        # Ops that remove things name ones that are not there, so that a variant
        # accepted for lack of an optional field removes nothing the others need.
        "task.delete": {"task": "t-00000000ff", "reason": "r", **author},
        "project.delete": {"name": "gone", **author},
        "project.rename": {"name": "gone", "new_name": "gone2", **author},
        "decision.ask": {"session": "s-ask", "tool": "Bash", "summary": "ls", "tool_input": "{}",
                         "suggestions": ["x"], "at": 1, "cwd": "/tmp", "project": "pa"},
        # An unknown decision: no spoiled variant may be taken for an answer.
        "decision.make": {"decision": "d-00000000ff", "behavior": "allow", "reason": "r",
                          "via": "cli", "at": 1, **author},
        "decision.settle": {"decisions": ["d-00000000ff"], "how": "expired", "at": 1},
        # A dispatch of a task that is not there: a complete command is refused, so no
        # session is ever started by this test. The host's answers name an unknown request.
        "dispatch.request": {"request": "d-00000000ff", "action": "start", "task": "t-00000000ff",
                             "host": "", "name": "n", "worktree": True, **author},
        "dispatch.accept": {"request": "d-00000000ff", "now_ms": 1, "max_age_ms": 1,
                            "refuse": ""},
        "dispatch.launched": {"request": "d-00000000ff", "job_id": "j"},
        "dispatch.started": {"request": "d-00000000ff", "session": "s-started"},
        "dispatch.stopped": {"request": "d-00000000ff", "how": "h"},
        "dispatch.refuse": {"request": "d-00000000ff", "reason": "r"},
        # What a host offers when dispatch is off, as its dispatcher publishes it: a
        # variant accepted for a missing optional field changes nothing.
        "dispatch.offer": {"enabled": False, "max_sessions": 4, "permission_mode": "default"},
        "task.release": {"session": "s-alive", "candidates": [task]},
        "task.finish": {"task": "t-00000000ff", "session": "s-fin", "note": "n", **author},
        "task.review": {"task": task, "verdict": "approve", "text": "t", "sent_at": 1, **author},
        # Membership: an invitation that was never made here, a member that is not there.
        "fleet.invite": {"key": "k" * 40, "name": "h", "endpoint": "tcp://127.0.0.1:1",
                         "invite": "i-1", "secret_sha256": "0" * 64, "expires_ms": 1},
        "fleet.join": {"key": "k" * 40, "origin": "o", "name": "h",
                       "endpoint": "tcp://127.0.0.1:1", "invite": "i-unknown",
                       "secret_sha256": "0" * 64, "token_expires_ms": 1, "now_ms": 1},
        "fleet.admit": {"key": "k" * 40, "origin": "o", "name": "h",
                        "endpoint": "tcp://127.0.0.1:1"},
        "fleet.remove": {"host": "nobody-here", "reason": "r"},
    }  # fmt: skip


def spoiled(value: Any) -> list[Any]:
    """Values of the wrong type, or out of range, for a field whose valid value is ``value``."""
    if isinstance(value, bool):
        return ["yes", 2.5, [True]]
    if isinstance(value, int):
        return ["1", 1.5, True, [1], {"n": 1}, 2**62, -(2**62), b"\x01"]
    if isinstance(value, str):
        return [5, 2.5, False, b"\xff\xfe", [value], {"s": value}, "x" * 200_000]
    if isinstance(value, list):
        return [value[0] if value else "x", 5, [5], [""], ["x" * 1000], [[]], ["a"] * 101]
    if isinstance(value, dict):
        return [5, "x", [value], {}]
    raise AssertionError(value)


def spoiled_commands(task: str) -> list[tuple[str, dict[str, Any]]]:
    commands: list[tuple[str, dict[str, Any]]] = []
    for op, args in valid_args(task).items():
        for name, value in args.items():
            commands += [(op, {**args, name: bad}) for bad in spoiled(value)]
        # And a missing field, for every field the op requires.
        commands += [(op, {k: v for k, v in args.items() if k != name}) for name in args]
    for key, value in SNAPSHOT.items():
        for bad in spoiled(value):
            commands.append(("session.observe", {"snapshot": {**SNAPSHOT, key: bad}}))
    return commands


def test_the_table_covers_every_op() -> None:
    assert set(valid_args("t")) == set(DECIDERS)


def test_wrong_types_in_every_field_of_every_op_are_refused(
    pair: Pair, figures: dict[str, Any]
) -> None:
    s = pair.a
    task = s.clare("task", "add", "target", "-p", "pa").stdout.strip()
    pids, before = node_pids(s), own_event_count(s)
    accepted: list[tuple[str, dict[str, Any]]] = []
    codes: dict[str, int] = {}
    silent = 0  # errors without a message
    commands = spoiled_commands(task)
    with client(s, attempts=1) as c:
        for op, args in commands:
            # Spoiled fields that are optional may be accepted: only those whose absence
            # is fine (a missing optional field) are allowed through, checked below.
            try:
                c.call(op, args)
            except ClareError as exc:
                codes[exc.code] = codes.get(exc.code, 0) + 1
                silent += 0 if str(exc) else 1
            else:
                accepted.append((op, args))
    unexpected = [(op, a) for op, a in accepted if set(a) == set(valid_args(task)[op])]
    assert unexpected == [], "spoiled commands accepted:\n" + "\n".join(
        f"{op} {str(a)[:300]}" for op, a in unexpected
    )
    assert silent == 0
    assert set(codes) <= {"usage", "not_found", "invalid_transition", "protocol", "peer_refused"}
    written = own_event_count(s) - before
    # Each accepted command (a missing optional field) writes what a valid one does.
    assert written <= 2 * len(accepted)
    if not accepted:
        assert written == 0
    assert node_pids(s) == pids
    figures["bad_commands"] = {"tried": len(commands), "refused": sum(codes.values()),
                               "codes": codes}  # fmt: skip


def _invalid_utf8_command() -> bytes:
    frame = rpc.Request("bad-utf8", "task.add", {"project": "pa", "title": "AAAA"}).encode()
    return frame.replace(b"AAAA", b"\xff\xfe\xc3\x28")


def _frames() -> st.SearchStrategy[bytes]:
    valid = rpc.Request("fuzz", "task.add", {"project": "pa", "title": "fuzz"}).encode()
    ops = sorted(DECIDERS)
    plain = st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
        | st.text(max_size=20) | st.binary(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                    max_size=4),
        max_leaves=12,
    )  # fmt: skip
    commands = st.builds(
        lambda op, args, cid: msgpack.packb({"v": 1, "t": "cmd", "id": cid, "op": op,
                                             "args": args}),
        st.sampled_from(ops) | st.text(max_size=10),
        st.dictionaries(st.text(max_size=12), plain, max_size=6) | plain,
        st.text(max_size=70) | st.integers(-(2**63), 2**63 - 1),
    )  # fmt: skip
    flipped = st.lists(st.integers(0, len(valid) * 8 - 1), min_size=1, max_size=6).map(
        lambda bits: _flip(valid, bits)
    )
    truncated = st.integers(0, len(valid) - 1).map(lambda n: valid[:n])
    nested = st.integers(100, 200_000).map(lambda depth: b"\x91" * depth + b"\xc0")
    return st.one_of(
        st.binary(max_size=300), commands, flipped, truncated, nested,
        st.just(_invalid_utf8_command()),
        st.integers(1, 3).map(lambda n: b"\x00" * (envelope.MAX_FRAME_BYTES + n)),
    )  # fmt: skip


def _flip(frame: bytes, bits: list[int]) -> bytes:
    data = bytearray(frame)
    for bit in bits:
        data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def _reply(sock: zmq.Socket[Any], timeout_ms: int = 3000) -> bytes | None:
    return sock.recv() if sock.poll(timeout_ms) else None


def test_random_and_mutated_frames_get_an_answer_and_write_nothing_wrong(
    pair: Pair, long_mode: bool, figures: dict[str, Any]
) -> None:
    s = pair.a
    pids = node_pids(s)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"ipc://{s.paths.runtime_dir / WRITER_COMMANDS}")
    tally = {"tried": 0, "errors": 0, "accepted": 0, "unanswered": 0}

    @settings(max_examples=3000 if long_mode else 150, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    # Only this host's own events: the pair keeps syncing what earlier tests wrote
    # on the other host, and that is no write of this writer's.
    @given(_frames())
    def check(frame: bytes) -> None:
        before = own_event_count(s)
        sock.send(frame)
        tally["tried"] += 1
        if len(frame) > envelope.MAX_FRAME_BYTES:
            # Refused by MAXMSGSIZE: the writer drops the connection, not the node.
            tally["unanswered"] += 1
            sock.disconnect(sock.last_endpoint or sock.getsockopt(zmq.LAST_ENDPOINT))
            sock.connect(f"ipc://{s.paths.runtime_dir / WRITER_COMMANDS}")
            return
        reply = _reply(sock)
        assert reply is not None, f"no answer to {frame[:60]!r}"
        try:
            _, outcome = rpc.parse_reply(reply)
        except ClareError:
            raise AssertionError(f"unreadable reply {reply[:80]!r}") from None
        if isinstance(outcome, ClareError):
            tally["errors"] += 1
            assert own_event_count(s) == before, f"refused, yet written: {frame[:80]!r}"
        else:
            tally["accepted"] += 1

    try:
        check()
    finally:
        sock.close()
    assert node_pids(s) == pids
    assert s.answering()
    figures["bad_frames"] = tally


def test_garbage_into_every_socket_file_kills_no_node(pair: Pair) -> None:
    """Every socket in the runtime folder, as a DEALER (commands, control) and an XSUB (PUB)."""
    s: Stack = pair.a
    pids = node_pids(s)
    rng = random.Random(11)
    ctx = zmq.Context.instance()
    names = sorted(p.name for p in s.paths.runtime_dir.iterdir() if p.is_socket())
    assert set(PUBLISHERS.values()) & set(names), names
    for name in names:
        for kind in (zmq.DEALER, zmq.XSUB):
            sock = ctx.socket(kind)
            sock.setsockopt(zmq.LINGER, 0)
            # A node that rejects the socket type (a DEALER at a PUB) drops the
            # connection, and a DEALER with no connection blocks on send: give up
            # on that socket instead of hanging the suite.
            sock.setsockopt(zmq.SNDTIMEO, 500)
            sock.connect(f"ipc://{s.paths.runtime_dir / name}")
            garbage = [
                [bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
                 for _ in range(rng.randint(1, 3))]
                for _ in range(100)
            ]  # fmt: skip
            garbage += [
                [b"\x01"],  # on a PUB: a subscribe-all from a stranger
                [b"ev.TaskCreated", _invalid_utf8_command()],
                [b"\x91" * 100_000 + b"\xc0"],
            ]
            with contextlib.suppress(zmq.Again):
                for parts in garbage:
                    sock.send_multipart(parts)
            sock.close()
    with client(s) as c:
        assert c.call("task.add", {"project": "pa", "title": "after socket garbage"})["task"]
    assert node_pids(s) == pids
    assert s.json("status")["nodes"]["projector"]["answering"]
