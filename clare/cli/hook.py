"""``clare hook EVENT``: what Claude Code's hooks run, on every turn of every session.

It reads the hook's JSON on stdin, and

1. on SessionStart and UserPromptSubmit, prints the session's undelivered
   messages as ``additionalContext`` (read from the views DB), so they reach
   the model with this turn;
2. sends one ``session.hook`` command to the writer: the session's new status
   and the deliveries it just made, recorded at once, faster than any poll;
3. notes the Claude Code process it runs under (``clare.sessions.hooked``), so
   builds that write no session file of their own are followed all the same;
4. settles the session's asks still open (it went on, or ended): see
   ``clare.cli.hook_asks``; ``PermissionRequest`` itself is ``clare.cli.hook_decision``.

Its input is bounded in bytes and time (``clare.sessions.hook_input``).

It must never break or stall the session, so it runs under a hard budget: a
writer that does not answer within ``WRITER_TIMEOUT_S`` (or is not running)
gets the command spooled to a file that the poller replays later, and any
failure at all ends in exit status 0. It is dispatched from
``clare.cli.main`` before Typer is imported, and imports only light modules:
the blocking ``clare.bus.client`` (pyzmq, no trio: importing trio alone would
double the hook's start-up time), ``clare.store.sqlite`` and the stdlib-only
rows of ``clare.store.queries_recipients``, never the domain or the views.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from clare.sessions.hook_events import CONTEXT_EVENTS, HOOK_EVENTS, PERMISSION_EVENT
from clare.sessions.hook_input import parse_call, read_bounded

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths
    from clare.sessions.hook_input import HookCall

WRITER_TIMEOUT_S = 0.3
DEBUG_ENV = "CLARE_HOOK_DEBUG"
#: This host's machine id and name, as last read from clare.toml (see _identity).
IDENTITY_CACHE = "hook-identity.json"
SETTLED_NS = 2_000_000_000
#: How much of a prompt the session event records (the whole prompt is only searched for
#: the ids of messages delivered at once, which must not be printed again).
PROMPT_RECORDED = 500


def main(argv: list[str]) -> int:
    """Run the hook; always returns 0 (a hook that fails must not fail the session)."""
    try:
        run(argv, sys.stdin.buffer, sys.stdout)
    except BaseException as exc:  # nothing may escape into Claude Code, not even ^C
        if os.environ.get(DEBUG_ENV):
            print(f"clare hook: {exc!r}", file=sys.stderr)
    return 0


def _parse_argv(argv: list[str]) -> tuple[str, str | None]:
    event, home = "", None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--home" and i + 1 < len(argv):
            home, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--home="):
            home = arg.split("=", 1)[1]
        elif not arg.startswith("-") and not event:
            event = arg
        i += 1
    return event, home


def run(argv: list[str], stdin: Any, stdout: Any, *, now_ms: int | None = None) -> dict[str, Any]:
    """The hook's work; returns the command it sent or spooled (empty if none)."""
    from clare.runtime import paths as paths_mod

    event, home = _parse_argv(argv)
    raw = b"" if stdin.isatty() else read_bounded(stdin)
    call = None if raw is None else parse_call(raw, event)
    if call is None or call.event not in HOOK_EVENTS:
        return {}  # not what Claude Code sends, or cut short: nothing to record
    paths = paths_mod.resolve(home)
    if call.event == PERMISSION_EVENT:
        return _ask(paths, raw or b"", call, stdout)
    machine_id, host_name = _identity(paths)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    project, delivered = _deliver(
        paths,
        machine_id,
        host_name,
        call.event,
        call.session,
        call.cwd,
        now_ms,
        stdout,
        prompt=call.prompt,
    )
    from clare.domain.commands import SessionHook

    notification = call.event == "Notification"
    command = SessionHook(
        session=call.session,
        event=call.event,
        at=now_ms,
        cwd=call.cwd,
        project=project,
        delivered=tuple(delivered),
        prompt=call.prompt[:PROMPT_RECORDED] if call.event == "UserPromptSubmit" else "",
        waiting_for=call.message if notification else "",
        notification_type=call.notification_type if notification else "",
        background_tasks=call.background_tasks if call.event == "Stop" else 0,
        source=call.source if call.event == "SessionStart" else "",
        pid=_note_process(paths, call, now_ms),
    )
    op, args = command.to_wire()
    _send_or_spool(paths, op, args)
    if not notification:
        from clare.cli.hook_asks import settle_for_session

        settle_for_session(paths, call.event, call.session)
    return args


def _ask(paths: InstancePaths, raw: bytes, call: HookCall, stdout: Any) -> dict[str, Any]:
    """A permission dialog opened: ask every host, and pass on a person's answer."""
    from clare.cli import hook_decision
    from clare.runtime import config

    wait_s = config.load(paths).decision_wait_s
    outcome = hook_decision.run(paths, raw, call, stdout, wait_s=wait_s)
    return {"session": call.session, "event": call.event, "outcome": outcome}


def _note_process(paths: InstancePaths, call: HookCall, now_ms: int) -> int:
    """Record which Claude Code process runs this session (see ``clare.sessions.hooked``),
    so a build that writes no session file is still followed; returns its pid or 0."""
    from clare.sessions import hooked

    try:
        pid = hooked.claude_pid(os.environ, os.getppid())
        if pid is None:
            return 0
        folder = hooked.hooked_dir(paths.data_dir)
        if call.event == "SessionEnd":
            hooked.forget(folder, pid, call.session)
        else:
            hooked.record(folder, pid, call.session, call.cwd, call.transcript_path, now_ms)
    except OSError:
        return 0  # no data folder yet: the poller still learns of it from this call
    return pid


def _identity(paths: InstancePaths) -> tuple[str, str]:
    """This host's machine id and name from clare.toml.

    Read here with tomllib alone: ``clare.runtime.config`` would cost the hook a third of
    its start-up in imports it has no use for. Even tomllib (about 1.5 ms of
    CPU) is paid only when clare.toml changed: the two values are kept in the
    runtime folder beside the file's device, inode, size and mtime, and used
    while clare.toml still has those. ``clare.runtime.config.save`` replaces the file
    (a new inode) and an edit by hand changes its mtime, so a stale copy is
    never used: the key is taken before the file is read (a change in between
    leaves a key that no longer matches), and a file changed in the last two
    seconds is not kept at all (see below).
    """
    st = os.stat(paths.config_file)
    key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    cache = paths.runtime_dir / IDENTITY_CACHE
    try:
        cached = json.loads(cache.read_bytes())
        machine_id, name = cached["machine_id"], cached["name"]
        if cached["key"] == key and isinstance(machine_id, str) and isinstance(name, str):
            return machine_id, name
    except (OSError, ValueError, KeyError, TypeError):
        pass  # none yet, or unreadable: read clare.toml
    machine_id, name = _read_identity(paths)
    if time.time_ns() - st.st_mtime_ns < SETTLED_NS:
        # File times move in clock ticks: an edit within the tick of this read
        # could keep the size and the mtime. Kept only once the file has settled.
        return machine_id, name
    tmp = cache.with_name(f"{IDENTITY_CACHE}.{os.getpid()}")
    try:
        tmp.write_text(json.dumps({"key": key, "machine_id": machine_id, "name": name}))
        os.replace(tmp, cache)
    except OSError:  # no runtime folder (Clare never started here): read it each time
        with contextlib.suppress(OSError):
            tmp.unlink()
    return machine_id, name


def _read_identity(paths: InstancePaths) -> tuple[str, str]:
    import tomllib

    with open(paths.config_file, "rb") as f:
        raw = tomllib.load(f)
    machine_id, name = raw.get("machine_id"), raw.get("name")
    if not isinstance(machine_id, str) or not machine_id:
        raise ValueError(f"{paths.config_file} has no machine_id")
    return machine_id, name if isinstance(name, str) else ""


def _deliver(
    paths: InstancePaths,
    machine_id: str,
    host_name: str,
    event: str,
    session: str,
    cwd: str,
    now_ms: int,
    stdout: Any,
    *,
    prompt: str = "",
) -> tuple[str, list[str]]:
    """Print the session's waiting messages (on context events); returns (project, ids).

    Other events skip the views entirely: their snapshot's project, if the
    session is new, is filled in by the poller's next pass.
    """
    if event not in CONTEXT_EVENTS or not paths.views_db.exists():
        return "", []
    from clare.app.recipients import (
        format_messages,
        not_in_prompt,
        pending_messages,
        recipient_for,
    )
    from clare.core.errors import ClareError
    from clare.store.sqlite import open_reader, reading

    try:
        conn = open_reader(paths.views_db, busy_timeout_ms=50)
    except ClareError:
        return "", []
    try:
        with reading("the views"):
            who = recipient_for(conn, session, machine_id=machine_id, host_name=host_name, cwd=cwd)
            pending = pending_messages(conn, who, now_ms)
    except ClareError:
        return "", []  # views not migrated yet, or busy: the messages wait for the next turn
    finally:
        conn.close()
    # Delivered at once (inbox, tmux) and not yet recorded: this prompt is that message.
    pending = not_in_prompt(pending, prompt)
    if not pending:
        return who.project, []
    output = {
        "hookSpecificOutput": {
            "hookEventName": event,
            "additionalContext": format_messages(pending),
        }
    }
    stdout.write(json.dumps(output) + "\n")
    stdout.flush()
    return who.project, [m.id for m in pending]


def _send_or_spool(paths: InstancePaths, op: str, args: dict[str, Any]) -> None:
    from clare.bus import rpc

    request = rpc.Request.new(op, args)
    if not _send(paths, request):
        from clare.sessions import spool

        try:
            spool.append(paths.spool_dir, request.id, op, args)
        except OSError:  # the data folder's disk is full: try the runtime folder's
            spool.append(paths.fallback_spool_dir, request.id, op, args)


def _send(paths: InstancePaths, request: Any) -> bool:
    """Send one command; True once the writer answered, unless it could not store it.

    An error about the command is final (resending would be refused again); a
    storage error (a full disk) is not, so the command is spooled for later.
    One attempt only: a writer that does not answer in time gets it spooled.
    """
    outcome = call_writer(paths, request, WRITER_TIMEOUT_S)
    if outcome is None:
        return False  # not running, or no answer in time
    from clare.core.errors import StorageError

    return not isinstance(outcome, StorageError)


def call_writer(paths: InstancePaths, request: Any, timeout_s: float) -> Any:
    """The writer's answer to one command (a result dict or the ``ClareError`` it sent),
    or None when no writer runs or it did not answer within ``timeout_s``."""
    from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
    from clare.runtime.lock import may_answer

    endpoints = Endpoints(paths)
    socket_file, lock_file = endpoints.socket_file(WRITER_COMMANDS), paths.lock_file("writer")
    if not may_answer(socket_file, lock_file):
        return None  # checked before importing pyzmq, which a spooled command does without
    from clare.bus.client import CommandClient

    client = CommandClient(
        endpoints.ipc(WRITER_COMMANDS), socket_file, lock_file=lock_file, timeout_s=timeout_s,
        attempts=1,
    )  # fmt: skip
    try:
        return client.reply_to(request)
    finally:
        client.close()
