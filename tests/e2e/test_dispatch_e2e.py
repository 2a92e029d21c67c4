"""Dispatch across two hosts with a real Claude Code (the pinned build), offline.

Host a asks, host b acts: b has turned dispatch on, a has not. A dispatch from a
starts a background session on b in a worktree of the project there; the model
(the fake API) gets the task; a shows the session holding the task in progress;
a second dispatch of the task starts nothing; ``session stop`` from a ends it,
and the task goes back to the ready queue on both hosts. A dispatch to a, which
never turned dispatch on, is refused with a line that says so. Claude Code's
background daemon is stopped at the end, with every process it left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .clare_stack import clare_program, git_project, wait_for
from .claude import write_home
from .test_background_e2e import Background

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI

NODES = "writer,projector,poller,gossip"


class Host:
    """One Clare instance in its own short home, its nodes run in ``env``."""

    def __init__(self, name: str, claude_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.home = Path(tempfile.mkdtemp(prefix=f"dsp{name}", dir="/tmp"))
        self.claude_dir = claude_dir
        self.env = {**env, "CLARE_HOME": str(self.home)}
        self.proc: subprocess.Popen[bytes] | None = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*clare_program(), *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{self.name}: clare {' '.join(args)}: {done.stderr}{done.stdout}")
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def init(self, dispatch: str = "") -> None:
        ports = (str(_free_port()), str(_free_port()))
        self.run("init", "--name", self.name, "--web-port", ports[0], "--gossip-port", ports[1])
        config = self.home / "clare.toml"
        text = config.read_text().replace(
            'claude_config_dir = ""', f"claude_config_dir = {json.dumps(str(self.claude_dir))}"
        )
        if dispatch:  # init writes [dispatch] last, before any peer
            text = text[: text.index("[dispatch]")] + f"[dispatch]\n{dispatch}\n"
        config.write_text(text)

    @property
    def gossip_port(self) -> int:
        return int(tomllib.loads((self.home / "clare.toml").read_text())["gossip"]["port"])

    def start(self) -> None:
        with open(self.home / "up.log", "wb") as log:
            self.proc = subprocess.Popen(
                [*clare_program(), "up", "--nodes", NODES],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peer(a: Host, b: Host) -> None:
    key = a.run("keys", "show").stdout.strip()
    b.run("sync", "peer", "add", a.name, f"tcp://127.0.0.1:{a.gossip_port}", "--key", key)


@pytest.fixture
def hosts(claude: ClaudeRunner, tmp_path: Path) -> Iterator[tuple[Host, Host, Path, Background]]:
    repo = git_project(tmp_path / "work" / "alpha", "main")
    write_home(claude.home, [repo])
    empty = tmp_path / "a-claude"
    empty.mkdir()
    env = claude.environment()
    a = Host("a", empty, {k: v for k, v in env.items() if k != "CLAUDE_CONFIG_DIR"})
    b = Host("b", claude.claude_dir, env)
    a.init()
    b.init(f"enabled = true\nmax_sessions = 2\ncommand = {json.dumps(str(claude.binary))}")
    peer(a, b)
    peer(b, a)
    background = Background(claude, repo, {})
    try:
        a.start()
        b.start()
        yield a, b, repo, background
    finally:
        background.note_daemon()
        background.stop_daemon()
        for host in (a, b):
            host.stop()
            shutil.rmtree(host.home, ignore_errors=True)


def _offered(a: Host) -> bool:
    listed = a.run("dispatch", "--hosts", "--json", check=False)
    if listed.returncode != 0:  # no views yet: the nodes are starting
        return False
    offers = {o["host"]: o for o in json.loads(listed.stdout)}
    return "b" in offers and offers["b"]["enabled"] and "a" in offers


@pytest.mark.e2e
def test_dispatch_from_a_starts_claude_code_on_b_for_the_task(
    hosts: tuple[Host, Host, Path, Background], fake_api: FakeAnthropicAPI
) -> None:
    a, b, repo, background = hosts
    wait_for("both hosts' dispatch offers on a", lambda: _offered(a), 60)
    a.run("project", "add", "alpha")
    task = a.run("task", "add", "Write the frobnicator", "-p", "alpha", "--body",
                 "It frobs.").stdout.strip()  # fmt: skip
    wait_for("the project on b", lambda: b.run("project", "show", "alpha", check=False)
             .returncode == 0)  # fmt: skip
    b.run("project", "path", "alpha", str(repo))
    wait_for("b's folder known on a", lambda: "b" in a.json("project", "show", "alpha")
             ["paths_by_host"])  # fmt: skip

    began = time.monotonic()
    started = a.json("dispatch", task, "--host", "b", "--timeout", "90")
    background.note_daemon()
    assert started["state"] == "started", started
    assert started["host"] == "b"
    session_id = started["session"]

    def prompted() -> bool:
        return any(task in json.dumps(body) and "Write the frobnicator" in json.dumps(body)
                   for body in fake_api.requests())  # fmt: skip

    wait_for("the task in the model's prompt", prompted, 60)
    assert time.monotonic() - began < 120

    def held_on_a() -> dict[str, Any] | None:
        shown = a.json("task", "show", task)
        return shown if shown["assignee"] == f"session:{session_id}" else None

    shown = wait_for("the session holding the task on a", held_on_a, 30)
    assert shown["state"] == "in_progress"
    session = wait_for("the session on b", lambda: next(
        (s for s in b.json("session", "list") if s["id"] == session_id), None))  # fmt: skip
    assert session["kind"] == "bg"
    assert session["cwd"].startswith(str(repo))
    assert session["cwd"] != str(repo)  # a worktree of its own

    again = a.run("dispatch", task, "--host", "b", check=False)
    assert again.returncode == 1
    assert "already has a live session" in again.stderr
    assert len(a.json("task", "show", task)["dispatches"]) == 1

    stopped = a.json("session", "stop", session_id, "--timeout", "60")
    assert stopped["state"] == "stopped"

    def released(host: Host) -> bool:
        shown = host.json("task", "show", task)
        return bool(shown["state"] == "todo" and not shown["assignee"])

    wait_for("the task ready again on b", lambda: released(b), 60)
    wait_for("the task ready again on a", lambda: released(a), 30)

    refused = a.run("dispatch", task, check=False)
    assert refused.returncode == 1
    assert "dispatch is off on host a" in refused.stderr
    assert refused.stderr.count("\n") == 1
