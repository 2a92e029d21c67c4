from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import zmq

from clare.bus import rpc
from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
from clare.cli import hook
from clare.core.errors import DiskFull, UsageError
from clare.core.ids import MAX_SESSION_ID
from clare.runtime import config as config_mod
from clare.runtime.lock import NodeLock
from clare.sessions import hooked, spool
from clare.sessions.session_file import read_session_file
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from clare.runtime.paths import InstancePaths

NOW = 1_800_000_000_000


class Stdin(io.BytesIO):
    def isatty(self) -> bool:
        return False


@pytest.fixture
def fleet(paths: InstancePaths) -> Fleet:
    fleet = Fleet(paths.data_dir)
    fleet.call("host.name", name="laptop")
    fleet.call("project.add", name="alpha", path="/src/alpha")
    return fleet


def run_hook(
    paths: InstancePaths, event: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    sent = hook.run([event, "--home", str(paths.config_file.parent)],
                    Stdin(json.dumps(payload).encode()), out, now_ms=NOW)  # fmt: skip
    return sent, out.getvalue()


def spooled(paths: InstancePaths) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    spool.drain(paths.spool_dir, lambda i, op, args: items.append({"op": op, **args}))
    return items


def test_messages_reach_the_model_and_the_call_is_spooled_when_down(
    paths: InstancePaths, fleet: Fleet
) -> None:
    sent = fleet.call("message.send", target="project:alpha", text="freeze", sent_at=NOW - 1)
    payload = {"session_id": "s1", "cwd": "/src/alpha/lib", "prompt": "go on"}
    args, printed = run_hook(paths, "UserPromptSubmit", payload)
    output = json.loads(printed)["hookSpecificOutput"]
    assert output["hookEventName"] == "UserPromptSubmit"
    assert "freeze" in output["additionalContext"]
    assert (args["project"], args["delivered"], args["prompt"]) == ("alpha", [sent["message"]],
                                                                      "go on")  # fmt: skip
    (item,) = spooled(paths)
    assert (item["op"], item["session"], item["event"], item["at"]) == (
        "session.hook", "s1", "UserPromptSubmit", NOW)  # fmt: skip


def test_a_message_delivered_at_once_is_not_added_again_by_its_own_turn(
    paths: InstancePaths, fleet: Fleet
) -> None:
    # The inbox socket (or tmux) made this message the prompt; the delivery is not
    # recorded yet when the turn's hook runs, so the hook must see it in the prompt.
    at_once = fleet.call("message.send", target="project:alpha", text="freeze", sent_at=NOW - 2)
    other = fleet.call("message.send", target="project:alpha", text="thaw", sent_at=NOW - 1)
    prompt = f"Messages for this session from Clare:\n- [{at_once['message']}, to all] freeze"
    payload = {"session_id": "s1", "cwd": "/src/alpha/lib", "prompt": prompt}
    args, printed = run_hook(paths, "UserPromptSubmit", payload)
    context = json.loads(printed)["hookSpecificOutput"]["additionalContext"]
    assert "thaw" in context
    assert "freeze" not in context
    assert args["delivered"] == [other["message"]]


def test_stop_prints_nothing_and_notification_says_what_it_waits_for(
    paths: InstancePaths, fleet: Fleet
) -> None:
    fleet.call("message.send", target="all", text="hello", sent_at=NOW - 1)
    args, printed = run_hook(paths, "Stop", {"session_id": "s1"})
    assert printed == ""
    assert args["delivered"] == []
    args, _ = run_hook(paths, "Notification", {"session_id": "s1", "message": "needs approval"})
    assert args["waiting_for"] == "needs approval"


def test_garbage_never_fails(paths: InstancePaths, capsys: pytest.CaptureFixture[str]) -> None:
    for stdin in (b"not json", b"[1]", b'{"session_id": 5}', b""):
        assert hook.run(["Stop", "--home", str(paths.config_file.parent)], Stdin(stdin),
                        io.StringIO()) == {}  # fmt: skip
    assert run_hook(paths, "PreToolUse", {"session_id": "s1"})[0] == {}
    assert hook.main(["Stop", "--home", "/nonexistent/clare"]) == 0


@pytest.fixture
def writer(paths: InstancePaths) -> Iterator[list[rpc.Request]]:
    """A stand-in writer: a ROUTER that answers every command with ok."""
    with stand_in_writer(paths, lambda request: rpc.encode_ok(request.id, {})) as seen:
        yield seen


@contextlib.contextmanager
def stand_in_writer(
    paths: InstancePaths, answer: Callable[[rpc.Request], bytes]
) -> Iterator[list[rpc.Request]]:
    """A ROUTER holding the writer's lock that answers each command with ``answer(request)``."""
    paths.ensure_runtime_dir()
    seen: list[rpc.Request] = []
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.bind(Endpoints(paths).ipc(WRITER_COMMANDS))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if router.poll(50):
                identity, frame = router.recv_multipart()
                request = rpc.parse_request(frame)
                seen.append(request)
                router.send_multipart([identity, answer(request)])

    thread = threading.Thread(target=serve)
    thread.start()
    with NodeLock(paths.lock_file("writer")) as lock:
        lock.acquire("the test writer")
        try:
            yield seen
        finally:
            stop.set()
            thread.join()
            router.close(linger=0)
            context.term()


def test_a_running_writer_gets_the_call_at_once(
    paths: InstancePaths, writer: list[rpc.Request]
) -> None:
    args, _ = run_hook(paths, "SessionStart", {"session_id": "s1", "cwd": "/x"})
    (request,) = writer
    assert (request.op, request.args) == ("session.hook", args)
    assert not spool.pending(paths.spool_dir)


def test_a_call_the_writer_cannot_store_is_spooled(paths: InstancePaths) -> None:
    """A full disk: the writer answers, but with a storage error. The call is kept."""
    full = DiskFull("database write failed: database or disk is full")
    with stand_in_writer(paths, lambda request: rpc.encode_error(request.id, full)) as seen:
        args, _ = run_hook(paths, "SessionStart", {"session_id": "s1", "cwd": "/x"})
    assert [r.op for r in seen] == ["session.hook"]
    (item,) = spooled(paths)
    assert (item["op"], item["session"]) == ("session.hook", "s1")
    assert {k: v for k, v in item.items() if k != "op"} == args


def test_with_no_room_in_the_data_folder_the_call_is_spooled_in_the_runtime_folder(
    paths: InstancePaths,
) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.spool_dir.write_bytes(b"")  # a file in the way fails the spool like a full disk
    args, _ = run_hook(paths, "Stop", {"session_id": "s1"})
    items: list[dict[str, Any]] = []
    spool.drain(paths.fallback_spool_dir, lambda i, op, a: items.append({"op": op, **a}))
    assert items == [{"op": "session.hook", **args}]


def test_a_call_the_writer_refuses_as_wrong_is_not_spooled(paths: InstancePaths) -> None:
    wrong = UsageError("bad hook arguments")
    with stand_in_writer(paths, lambda request: rpc.encode_error(request.id, wrong)):
        run_hook(paths, "SessionStart", {"session_id": "s1", "cwd": "/x"})
    assert not spool.pending(paths.spool_dir)


def _settle(paths: InstancePaths) -> None:
    # A clare.toml written in the last seconds is never cached: age this one.
    old = time.time() - 60
    os.utime(paths.config_file, (old, old))


def test_identity_is_kept_while_clare_toml_is_unchanged(paths: InstancePaths) -> None:
    paths.ensure_runtime_dir()
    _settle(paths)
    assert hook._identity(paths) == (HOST, "laptop")
    cache = paths.runtime_dir / hook.IDENTITY_CACHE
    kept = json.loads(cache.read_text())
    cache.write_text(json.dumps({**kept, "name": "from the cache"}))
    assert hook._identity(paths) == (HOST, "from the cache")
    # Saved anew (a new file), or edited in place to the same size: read again.
    config_mod.save(paths, config_mod.Config(machine_id=HOST, name="desk"))
    _settle(paths)
    assert hook._identity(paths) == (HOST, "desk")
    text = paths.config_file.read_text()
    paths.config_file.write_text(text.replace('"desk"', '"tabl"'))
    assert hook._identity(paths) == (HOST, "tabl")


def test_identity_of_a_fresh_clare_toml_is_not_kept(paths: InstancePaths) -> None:
    paths.ensure_runtime_dir()
    assert hook._identity(paths) == (HOST, "laptop")  # written a moment ago
    assert not (paths.runtime_dir / hook.IDENTITY_CACHE).exists()


@pytest.mark.parametrize("garbage", [b"", b"not json", b"[1]", b'{"key": 1}', b'{"name": 5}'])
def test_a_broken_identity_cache_is_read_past(paths: InstancePaths, garbage: bytes) -> None:
    paths.ensure_runtime_dir()
    _settle(paths)
    (paths.runtime_dir / hook.IDENTITY_CACHE).write_bytes(garbage)
    assert hook._identity(paths) == (HOST, "laptop")
    assert hook._identity(paths) == (HOST, "laptop")  # and now from a good copy


def test_identity_without_a_runtime_folder_reads_clare_toml_each_time(
    paths: InstancePaths,
) -> None:
    _settle(paths)
    assert not paths.runtime_dir.exists()
    assert hook._identity(paths) == (HOST, "laptop")
    assert not paths.runtime_dir.exists()
    assert set(paths.config_file.parent.iterdir()) == {paths.config_file, paths.data_dir}


def test_a_stdin_left_open_ends_the_hook_without_a_word(paths: InstancePaths) -> None:
    # A caller that never closes stdin must not hold up the session's turn: the hook
    # gives up on its input and exits 0 (without the bound it waits for ever, and
    # communicate() below raises TimeoutExpired).
    command = [sys.executable, "-m", "clare", "hook", "Stop", "--home",
               str(paths.config_file.parent)]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as proc:
        assert proc.stdin is not None
        proc.stdin.write(b'{"session_id": "s1", "hook_event_name": "Stop"')
        proc.stdin.flush()
        try:
            out, _ = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert (proc.returncode, out) == (0, b"")
    assert not spool.pending(paths.spool_dir)


def test_a_session_id_too_long_to_record_gets_no_messages(
    paths: InstancePaths, fleet: Fleet
) -> None:
    # The writer refuses such an id: messages printed for it could never be marked
    # delivered, and came back on every turn.
    fleet.call("message.send", target="all", text="hello", sent_at=NOW - 1)
    long_id = "s" * (MAX_SESSION_ID + 1)
    assert run_hook(paths, "UserPromptSubmit", {"session_id": long_id}) == ({}, "")
    assert not spool.pending(paths.spool_dir)


def test_notification_passes_on_its_type(paths: InstancePaths) -> None:
    payload = {"session_id": "s1", "message": "Claude is waiting for your input",
               "notification_type": "idle_prompt"}  # fmt: skip
    args, _ = run_hook(paths, "Notification", payload)
    assert (args["notification_type"], args["waiting_for"]) == (
        "idle_prompt", "Claude is waiting for your input")  # fmt: skip
    args, _ = run_hook(paths, "Stop", {"session_id": "s1", "background_tasks": ["b1"]})
    assert args["background_tasks"] == 1
    args, _ = run_hook(paths, "SessionStart", {"session_id": "s1", "source": "compact"})
    assert args["source"] == "compact"


def test_the_claude_code_process_is_recorded_for_sessions_without_a_file(
    paths: InstancePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_PID", str(os.getpid()))
    payload = {"session_id": "s1", "cwd": "/src/alpha", "transcript_path": "/t/s1.jsonl"}
    args, _ = run_hook(paths, "SessionStart", payload)
    assert args["pid"] == os.getpid()
    recorded = hooked.hooked_dir(paths.data_dir) / f"{os.getpid()}.json"
    found = read_session_file(recorded)
    assert (found.session_id, found.cwd, found.transcript_path) == ("s1", "/src/alpha",
                                                                    "/t/s1.jsonl")  # fmt: skip
    run_hook(paths, "SessionEnd", {"session_id": "s1"})
    assert not recorded.exists()


def test_a_permission_request_with_no_writer_prints_nothing(
    paths: InstancePaths,
) -> None:
    payload = {"session_id": "s1", "tool_name": "Bash", "tool_input": {"command": "ls"}}
    sent, printed = run_hook(paths, "PermissionRequest", payload)
    assert printed == ""  # no writer: nobody could answer, and Clare never allows by itself
    assert sent == {"session": "s1", "event": "PermissionRequest", "outcome": ""}
    assert not spooled(paths)  # an ask is worth nothing later: it is not spooled


_IMPORTED_BY_A_TURN = """
import io, json, sys
from clare.cli import hook
hook.run(sys.argv[1:], io.BytesIO(sys.stdin.buffer.read()), io.StringIO())
print(json.dumps(sorted(sys.modules)))
"""


def test_a_turn_imports_neither_dataclasses_nor_trio_nor_the_domain(
    paths: InstancePaths, fleet: Fleet, writer: list[rpc.Request]
) -> None:
    # `clare hook` starts on every turn of every session: `dataclasses` pulls in
    # `inspect` (about 8 ms) and every dataclass made costs up to 1.5 ms more, so
    # the records on its path are `clare.core.record.Record`s (see that module).
    payload = {"session_id": "s1", "cwd": "/src/alpha", "prompt": "go on",
               "hook_event_name": "UserPromptSubmit"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED_BY_A_TURN, "UserPromptSubmit", "--home",
         str(paths.config_file.parent)],
        input=json.dumps(payload).encode(), capture_output=True, check=True, timeout=30,
    )  # fmt: skip
    loaded = set(json.loads(done.stdout))
    assert [r.op for r in writer] == ["session.hook"]  # the whole path ran, send included
    assert not loaded & {"dataclasses", "inspect", "trio", "typer", "clare.domain.registry"}
    assert not {m for m in loaded if m.startswith("clare.domain.")} - {
        "clare.domain", "clare.domain.command", "clare.domain.commands",
        "clare.domain.states", "clare.domain.targets"}  # fmt: skip
