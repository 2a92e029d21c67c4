"""Dispatch across two hosts on loopback: from ``clare dispatch`` on a to b's model.

Two Clare instances (a, b) sync over loopback; b has dispatch turned on and a
real Claude Code (the pinned build the end-to-end tests install) that talks to
the end-to-end tests' fake Messages API. Each round adds a task on a, waits
until b holds it, then times ``clare dispatch TASK --host b --no-wait`` on a
until the fake API has logged a request holding the task's id: the moment b's
model has the task. The baseline, in the same run, is ``claude --bg`` run by
hand on b with the same kind of prompt and worktree, timed the same way: what
dispatch adds is the CLI, the request's trip to b, b's acceptance and the
prompt's assembly. Sessions are stopped between rounds, outside the timing.

``python -m bench.dispatch`` runs it on its own and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.figures import Figure, Section, percentile
from bench.procs import BenchError

POLL_S = 0.002
ROUND_TIMEOUT_S = 60.0


def _wait(what: str, probe: Any, timeout_s: float = ROUND_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


def _logged(log: Path, marker: str) -> bool:
    try:
        return marker in log.read_text()
    except OSError:
        return False


def measure(rounds: int) -> dict[str, list[float]]:
    """Milliseconds from asking to the model's first request, through Clare and by hand."""
    try:
        from tests.e2e.clare_stack import git_project
        from tests.e2e.claude import (
            ClaudeCodeUnavailable,
            ClaudeRunner,
            install_claude_code,
            write_home,
        )
        from tests.e2e.fake_api import FakeAnthropicAPI
        from tests.e2e.test_background_e2e import Background
        from tests.e2e.test_dispatch_e2e import Host, peer
    except ImportError as exc:  # an installed package without the repository's tests
        raise BenchError(f"the end-to-end harness is not importable: {exc}") from exc
    try:
        binary = install_claude_code()
    except ClaudeCodeUnavailable as exc:
        raise BenchError(str(exc)) from exc
    found: dict[str, list[float]] = {"dispatch": [], "direct": []}
    with tempfile.TemporaryDirectory(prefix="cbd", dir="/tmp") as scratch:
        root = Path(scratch)
        repo = git_project(root / "alpha", "main")
        log = root / "api.jsonl"
        with FakeAnthropicAPI(root / "script.json", log) as api:
            runner = ClaudeRunner(binary, root / "home", api.url)
            write_home(runner.home, [repo])
            env = runner.environment()
            (root / "a-claude").mkdir()
            a = Host("a", root / "a-claude", env)
            b = Host("b", runner.claude_dir, env)
            a.init()
            b.init(f"enabled = true\nmax_sessions = 100\ncommand = {json.dumps(str(binary))}")
            peer(a, b)
            peer(b, a)
            background = Background(runner, repo, {})
            try:
                a.start()
                b.start()
                _setup(a, b, repo)
                for i in range(rounds):
                    found["dispatch"].append(_dispatch_round(a, b, log, i))
                    background.note_daemon()
                    _stop_all(background)
                    found["direct"].append(_direct_round(background, log, i))
                    _stop_all(background)
            finally:
                background.note_daemon()
                background.stop_daemon()
                a.stop()
                b.stop()
    return found


def _setup(a: Any, b: Any, repo: Path) -> None:
    def answering(host: Any) -> bool:
        return bool(host.run("dispatch", "--hosts", "--json", check=False).returncode == 0)

    _wait("both stacks", lambda: answering(a) and answering(b))
    a.run("project", "add", "alpha")
    _wait(
        "the project on b", lambda: b.run("project", "show", "alpha", check=False).returncode == 0
    )
    b.run("project", "path", "alpha", str(repo))
    _wait("b's offer on a", lambda: any(h["host"] == "b" and h["free"] for h in
                                        a.json("dispatch", "--hosts")))  # fmt: skip


def _dispatch_round(a: Any, b: Any, log: Path, i: int) -> float:
    task = a.run("task", "add", f"bench round {i}", "-p", "alpha").stdout.strip()
    _wait("the task on b", lambda: b.run("task", "show", task, check=False).returncode == 0)
    start = time.perf_counter()
    a.run("dispatch", task, "--host", "b", "--no-wait")
    _wait("b's model to get the task", lambda: _logged(log, task))
    return (time.perf_counter() - start) * 1000


def _direct_round(background: Any, log: Path, i: int) -> float:
    marker = f"direct-{i}-{time.time_ns()}"
    start = time.perf_counter()
    background.run("--bg", "-n", marker, "--permission-mode", "default", "-w", marker,
                   f"Work on {marker}")  # fmt: skip
    _wait("the model to get the prompt", lambda: _logged(log, marker))
    return (time.perf_counter() - start) * 1000


def _stop_all(background: Any) -> None:
    """End every background session, so rounds do not pile up processes."""
    listed = background.run("agents", "--json", check=False).stdout or "[]"
    try:
        agents = json.loads(listed)
    except ValueError:
        agents = []
    for agent in agents if isinstance(agents, list) else []:
        if isinstance(agent, dict) and agent.get("id"):
            background.run("stop", str(agent["id"]), check=False)


def section(rounds: int) -> Section:
    """The harness's section."""
    found = measure(rounds)
    figures = [
        Figure(
            f"dispatch on a to b → b's model has the task, p{p}",
            percentile(found["dispatch"], p),
            "ms",
            percentile(found["direct"], p),
            "claude --bg by hand on b",
        )
        for p in (50, 99)
    ]
    return Section(
        "Dispatch to another host",
        f"""
Two instances on loopback; b turned dispatch on. {rounds} rounds each add a task on a, wait
until b holds it, and time `clare dispatch TASK --host b --no-wait` on a until the fake
Messages API logs a request naming the task (b's real Claude Code 2.1.328 has it). The
baseline runs `claude --bg -w NAME` by hand on b and times it the same way. Sessions are
stopped between rounds, outside the timing.
""",
        figures,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    found = measure(args.rounds)
    out = {
        way: {"p50_ms": round(percentile(v, 50), 1), "p99_ms": round(percentile(v, 99), 1)}
        for way, v in found.items()
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
