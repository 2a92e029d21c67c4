"""Delivery at once to an idle Claude Code: through its inbox socket, and typed through tmux.

A real interactive Claude Code (the pinned build the end-to-end tests install)
runs offline in a tmux server of its own, against the fake Messages API of the
end-to-end tests, idle at its prompt. Each round waits until its transcript
records the last turn ended, then hands it one message with a fresh marker and times the
wait until the fake API has logged a request holding the marker: that is the
moment the model would see it.

- inbox: :func:`clare.sessions.inbox.send_to_inbox`, Clare's sender;
- baseline, same session, same run: :class:`clare.sessions.tmux.TmuxTyper`
  pasting the text into the pane and pressing Enter (the way Clare delivers to
  sessions without an inbox);
- the socket write alone (connect, lines, Claude Code closing its side), to
  tell the socket's cost from Claude Code's turn start.

``python -m bench.inbox`` runs it on its own and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.figures import Figure, Section, percentile
from bench.procs import BenchError
from clare.sessions.inbox import find_inbox, send_to_inbox
from clare.sessions.tmux import TmuxTyper

if TYPE_CHECKING:
    from collections.abc import Callable

POLL_S = 0.001
ROUND_TIMEOUT_S = 30.0


def _logged_count(log: Path, marker: str) -> int:
    try:
        return log.read_text().count(marker)
    except OSError:
        return 0


def _wait(what: str, probe: Callable[[], bool], timeout_s: float = ROUND_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def _turns_ended(claude: Path, session_id: str) -> int:
    """Turns the session's transcript records as ended.

    The session file's status is no clock for this: a turn of a few hundred
    milliseconds may never be written there as busy.
    """
    return sum(
        path.read_text().count('"subtype":"turn_duration"')
        for path in claude.glob(f"projects/*/{session_id}.jsonl")
    )


def measure(rounds: int) -> dict[str, list[float]]:
    """Milliseconds from handing a message over to the model's request, each way."""
    try:
        from tests.e2e.claude import ClaudeCodeUnavailable, ClaudeRunner, install_claude_code
        from tests.e2e.fake_api import FakeAnthropicAPI
        from tests.e2e.interactive import open_interactive
    except ImportError as exc:  # an installed package without the repository's tests
        raise BenchError(f"the end-to-end harness is not importable: {exc}") from exc
    try:
        binary = install_claude_code()
    except ClaudeCodeUnavailable as exc:
        raise BenchError(str(exc)) from exc
    found: dict[str, list[float]] = {"inbox": [], "tmux": [], "socket": []}
    with tempfile.TemporaryDirectory(prefix="cbi", dir="/tmp") as scratch:
        root = Path(scratch)
        cwd = root / "work"
        cwd.mkdir()
        log = root / "api.jsonl"
        with FakeAnthropicAPI(root / "script.json", log) as api:
            api.set_script({"text": "ok"})
            runner = ClaudeRunner(binary, root / "home", api.url)
            with open_interactive(runner, cwd) as live:
                inbox = find_inbox(runner.claude_dir, live.session_id)
                if inbox is None:
                    raise BenchError("the interactive Claude Code named no inbox socket")
                typer = TmuxTyper(socket_name=live.tmux_server)
                sent = 0
                for i in range(rounds):
                    for way in ("inbox", "tmux"):
                        # Idle again: every message so far has had its turn.
                        _wait(
                            "the session to be idle",
                            lambda n=sent: _turns_ended(runner.claude_dir, live.session_id) >= n,
                        )
                        marker = f"bench-{way}-{i}-{time.time_ns()}"
                        sent += 1
                        start = time.perf_counter()
                        if way == "inbox":
                            send_to_inbox(inbox, f"Note {marker}")
                            found["socket"].append((time.perf_counter() - start) * 1000)
                        else:
                            typer.type_text("claude", f"Note {marker}")
                        _wait("the model's request", lambda m=marker: _logged_count(log, m) > 0)
                        found[way].append((time.perf_counter() - start) * 1000)
    return found


def delivery(rounds: int) -> Section:
    """The harness's section."""
    found = measure(rounds)
    figures: list[Figure] = []
    for p in (50, 99):
        tmux = percentile(found["tmux"], p)
        figures.append(
            Figure(
                f"message to an idle Claude Code → model request, inbox socket, p{p}",
                percentile(found["inbox"], p),
                "ms",
                tmux,
                "tmux paste + Enter into the same session",
            )
        )
    figures += [
        Figure(f"inbox socket write until read, p{p}", percentile(found["socket"], p), "ms")
        for p in (50, 99)
    ]
    return Section(
        "Message delivery to an idle session",
        f"""
A real interactive Claude Code 2.1.328 runs offline in tmux against the end-to-end tests'
fake Messages API, idle at its prompt. {rounds} rounds, each waiting until the transcript
records the last turn ended, hand it one message with a fresh marker, first through its inbox socket
(Clare's `send_to_inbox`: connect, the auth and user lines, Claude Code closing its side),
then, as the baseline, pasted into its tmux pane with one Enter (Clare's `TmuxTyper`), and
time until the fake API has logged a request holding the marker (polled every millisecond).
The socket write alone is timed too.
""",
        figures,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    found = measure(args.rounds)
    out: dict[str, Any] = {
        way: {"p50_ms": round(percentile(v, 50), 2), "p99_ms": round(percentile(v, 99), 2)}
        for way, v in found.items()
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
