"""``clare hook PermissionRequest``: ask the fleet, wait for a person's answer, pass it on.

Claude Code shows its permission dialog at the terminal while this runs, and
takes whichever answer comes first: the terminal's, or the one printed here.
So the hook can wait long (``decision_wait_s``) without taking anything from
the person at the keyboard. It

1. subscribes to its writer's PUB (before asking, so no answer slips past),
2. records the ask (``decision.ask``) and leaves a marker file naming the
   decision and its session in ``<run>/asks/``,
3. waits: at each doorbell from the writer (an answer made here, or one synced
   from a peer), and at least every ``RECHECK_S``, it folds the decision's rows
   from the events DB (PUB/SUB is a doorbell, never the delivery),
4. prints the answer if a person made one, and nothing otherwise.

It never allows anything on its own. Given up waiting, it records the ask as
expired; the writer then answers with an answer that arrived in between, if
any, which is still passed on. Ended by Claude Code (the person answered at the
terminal, or pressed Esc), it records the ask as answered at the terminal.
Any other hook of the session (``clare.cli.hook_asks``) settles what a killed
hook left: the marker files say what is still open, with a listdir that costs
the other hooks next to nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any

# The domain's fold, imported before the ask is recorded (about 40 ms): once any host
# lists the ask, this hook is ready to pass an answer on at once.
from clare.cli.hook import call_writer
from clare.cli.hook_asks import asks_dir
from clare.domain.decisions import ENTITY_PREFIX, PermissionAsk
from clare.domain.fold import refold
from clare.sessions.permission_input import answer, parse_ask

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths
    from clare.sessions.hook_input import HookCall

#: How long the ask may take to be recorded (the dialog is open meanwhile).
ASK_TIMEOUT_S = 5.0
#: The events DB is read at least this often, doorbell or not.
RECHECK_S = 1.0


class _Ended(Exception):
    """Claude Code ended the hook (SIGTERM): the dialog was answered at the terminal."""


def run(paths: InstancePaths, raw: bytes, call: HookCall, stdout: Any, *, wait_s: float) -> str:
    """Ask and wait; returns what happened (for tests): a behavior, a settlement, or ""."""
    data = json.loads(raw)
    ask = parse_ask(data) if isinstance(data, dict) else None
    if ask is None:
        return ""
    from clare.bus import rpc
    from clare.domain.commands import DecisionAsk

    with _doorbell(paths) as bell:
        request = rpc.Request.of(
            DecisionAsk(
                session=call.session,
                tool=ask.tool,
                summary=ask.summary,
                tool_input=ask.tool_input,
                suggestions=tuple(ask.suggestions),
                at=int(time.time() * 1000),
                cwd=call.cwd,
            )
        )
        result = call_writer(paths, request, ASK_TIMEOUT_S)
        if not isinstance(result, dict):
            return ""  # no writer, or it refused: the terminal's dialog is all there is
        decision = str(result["decision"])
        marker = _mark(paths, decision, call.session)
        previous = signal.signal(signal.SIGTERM, _on_term)
        try:
            outcome = _wait(paths, bell, decision, time.monotonic() + wait_s)
            if outcome is None:
                outcome = _settle(paths, [decision], "expired").get(decision)
        except (_Ended, KeyboardInterrupt):
            _settle(paths, [decision], "terminal")
            outcome = None
        finally:
            signal.signal(signal.SIGTERM, previous)
            with contextlib.suppress(OSError):
                os.unlink(marker)
    if outcome is None or outcome["behavior"] not in ("allow", "deny"):
        return outcome["state"] if outcome else ""
    printed = answer(outcome["behavior"], outcome["reason"], outcome.get("author", ""))
    stdout.write(json.dumps(printed) + "\n")
    stdout.flush()
    return str(outcome["behavior"])


def _on_term(signum: int, frame: object) -> None:
    raise _Ended


@contextlib.contextmanager
def _doorbell(paths: InstancePaths) -> Any:
    """A SUB socket on the writer's PUB (None when it is not there: the DB is polled)."""
    import zmq

    from clare.bus.endpoints import WRITER_EVENTS, Endpoints

    endpoints = Endpoints(paths)
    context = zmq.Context()
    try:
        sock = None
        if os.path.exists(endpoints.socket_file(WRITER_EVENTS)):
            sock = context.socket(zmq.SUB)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.connect(endpoints.ipc(WRITER_EVENTS))
        yield sock
    finally:
        context.destroy(linger=0)


def _mark(paths: InstancePaths, decision: str, session: str) -> str:
    folder = asks_dir(paths)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, decision)
    with open(path, "w") as f:
        f.write(session)
    return path


def _wait(paths: InstancePaths, bell: Any, decision: str, deadline: float) -> dict[str, Any] | None:
    """The decision's outcome once it is not pending; None at the deadline."""
    while True:
        found = read_outcome(paths, decision)
        if found is not None:
            return found
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        timeout = min(left, RECHECK_S)
        if bell is None:
            time.sleep(timeout)
            continue
        if bell.poll(int(timeout * 1000) + 1):
            with contextlib.suppress(Exception):
                while True:  # drain: one read of the DB answers every ring so far
                    import zmq

                    bell.recv_multipart(zmq.NOBLOCK)


def read_outcome(paths: InstancePaths, decision: str) -> dict[str, Any] | None:
    """The decision's outcome from this host's events DB; None while it is pending."""
    from clare.core.errors import ClareError
    from clare.store.eventlog import entity_events
    from clare.store.sqlite import open_reader, reading

    try:
        conn = open_reader(paths.events_db, busy_timeout_ms=200)
    except ClareError:
        return None
    try:
        with reading("the decision's events"):
            events = entity_events(conn, ENTITY_PREFIX + decision)
    except ClareError:
        return None
    finally:
        conn.close()
    state = refold(ENTITY_PREFIX + decision, events)
    if not isinstance(state, PermissionAsk) or state.winner is None:
        return None
    won = state.winner
    return {
        "decision": decision,
        "state": state.state,
        "behavior": won.outcome if won.made else "",
        "reason": won.reason,
        "author": won.author,
    }


def _settle(paths: InstancePaths, decisions: list[str], how: str) -> dict[str, dict[str, Any]]:
    """Settle ``decisions``; returns the outcomes of those that were answered meanwhile."""
    from clare.bus import rpc
    from clare.domain.commands import DecisionSettle

    request = rpc.Request.of(
        DecisionSettle(decisions=tuple(decisions), how=how, at=int(time.time() * 1000))
    )
    result = call_writer(paths, request, ASK_TIMEOUT_S)
    if not isinstance(result, dict):
        return {}
    return {o["decision"]: o for o in result.get("outcomes", [])}
