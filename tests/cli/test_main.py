from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from clare.sessions import spool
from tests.sessions.views_data import Fleet

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths


def _buffered_env() -> dict[str, str]:
    # stdout to a pipe is buffered unless PYTHONUNBUFFERED says otherwise: what the
    # process does not flush before its fast exit is lost, and these tests must see it.
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def _hook(paths: InstancePaths, payload: dict[str, Any], **kw: Any) -> int:
    env = {**_buffered_env(), "CLARE_HOME": str(paths.home)}
    done = subprocess.run(
        [sys.executable, "-m", "clare", "hook", "UserPromptSubmit"],
        input=json.dumps(payload).encode(),
        env=env,
        timeout=30,
        check=False,
        **kw,
    )
    return done.returncode


def test_the_hook_process_flushes_its_output_before_its_fast_exit(paths: InstancePaths) -> None:
    fleet = Fleet(paths.data_dir)
    fleet.call("host.name", name="laptop")
    fleet.call("project.add", name="alpha", path="/src/alpha")
    # Longer than any stdio buffer: all of it must reach the pipe before os._exit.
    text = "freeze " * 2000
    fleet.call("message.send", target="project:alpha", text=text, sent_at=int(time.time() * 1000))
    out = paths.data_dir / "out"
    with open(out, "wb") as f:
        status = _hook(paths, {"session_id": "s1", "cwd": "/src/alpha"}, stdout=f)
    assert status == 0
    context = json.loads(out.read_bytes())["hookSpecificOutput"]["additionalContext"]
    assert text.strip() in context
    items: list[str] = []
    spool.drain(paths.spool_dir, lambda _i, op, _args: items.append(op))
    assert items == ["session.hook"]  # no writer runs here: the command waits in the spool


def test_the_hook_exits_0_when_claude_code_closed_its_stdout(paths: InstancePaths) -> None:
    fleet = Fleet(paths.data_dir)
    fleet.call("message.send", target="all", text="hello", sent_at=int(time.time() * 1000))
    read_end, write_end = os.pipe()
    os.close(read_end)  # whatever the hook prints now fails with a broken pipe
    try:
        status = _hook(paths, {"session_id": "s1", "cwd": "/x"}, stdout=write_end)
    finally:
        os.close(write_end)
    assert status == 0


def test_the_hook_exits_0_when_started_without_stdout_and_stderr(paths: InstancePaths) -> None:
    # Python then has no sys.stdout or sys.stderr at all (they are None).
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" -m clare hook Stop >&- 2>&-', sys.executable],
        input=json.dumps({"session_id": "s1"}).encode(),
        env={**os.environ, "CLARE_HOME": str(paths.home)},
        check=False,
        timeout=30,
    )
    assert done.returncode == 0


def test_exit_now_keeps_buffered_output_and_the_status() -> None:
    script = (
        "import sys\n"
        "from clare.cli.main import exit_now\n"
        "sys.stdout.write('x' * 100_000 + 'end')\n"
        "sys.stderr.write('err')\n"
        "exit_now(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=_buffered_env(), capture_output=True, check=False
    )
    assert done.returncode == 3
    assert done.stdout == b"x" * 100_000 + b"end"
    assert done.stderr == b"err"


_GC_SCRIPT = """
import gc
import sys
import typer
from clare.cli import main, root

def for_argv(argv):
    print("building with the collector", "on" if gc.isenabled() else "off")
    app = typer.Typer()

    @app.command()
    def run() -> None:
        print("running with the collector", "on" if gc.isenabled() else "off")

    return app

root.for_argv = for_argv
sys.argv = ["clare"]
main.main()
"""


def test_the_collector_is_off_while_starting_and_on_while_the_command_runs() -> None:
    # Commands such as `clare up` run for days: they must not run without it.
    done = subprocess.run(
        [sys.executable, "-c", _GC_SCRIPT], capture_output=True, check=True, timeout=30
    )
    assert done.stdout.decode().splitlines() == [
        "building with the collector off",
        "running with the collector on",
    ]


def test_a_node_command_line_is_told_apart_from_every_other() -> None:
    from clare.cli.main import node_argv

    assert node_argv(["node", "writer"]) == (None, "writer")
    assert node_argv(["--home", "/tmp/h", "node", "gossip"]) == ("/tmp/h", "gossip")
    assert node_argv(["--home=/tmp/h", "node", "web"]) == ("/tmp/h", "web")
    # Typer's own errors and help for everything else.
    assert node_argv(["node", "nonsense"]) is None
    assert node_argv(["node", "writer", "--help"]) is None
    assert node_argv(["node"]) is None
    assert node_argv(["task", "add", "x"]) is None
