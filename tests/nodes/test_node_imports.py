"""Each node imports what it needs: its memory is its own work, not the package's.

The node is started the way ``clare up`` and the systemd units start it
(``python -m clare [--home H] node NAME``), in a child process, up to the
point where it would serve; then its ``sys.modules`` is checked against the
modules it has no use for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

#: Never in a node: the command line (beyond its entry point) and the operator tools.
EVERY_NODE = ("typer", "click", "rich", "clare.cli", "clare.ops")
ENTRY_POINT = {"clare.cli", "clare.cli.main"}
WEB_STACK = ("starlette", "hypercorn", "jinja2", "h11", "h2", "clare.web")

FORBIDDEN = {
    "writer": (*WEB_STACK, "clare.sync", "clare.sessions", "asyncinotify"),
    "projector": (*WEB_STACK, "clare.sync", "clare.sessions", "asyncinotify"),
    "poller": (*WEB_STACK, "clare.sync"),
    "gossip": (*WEB_STACK, "clare.sessions", "clare.app"),
    "web": ("clare.sync", "clare.sessions", "asyncinotify"),
}

_CHILD = """
import json, sys
import clare.nodes.run as run

def stop_before_serving(name, paths):
    run.load_serve(name)
    import trio
    print(json.dumps(sorted(sys.modules)))

run.run_node = stop_before_serving
sys.argv = ["clare", "--home", sys.argv[1], "node", sys.argv[2]]
from clare.cli.main import main
main()
"""


def modules_of(node: str, home: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, home, node], capture_output=True, text=True, check=True
    )
    modules: list[str] = json.loads(done.stdout)
    return modules


@pytest.mark.parametrize("node", sorted(FORBIDDEN))
def test_a_node_imports_nothing_it_does_not_use(node: str, tmp_path: Path) -> None:
    modules = modules_of(node, str(tmp_path))
    found = [
        m
        for m in modules
        if m not in ENTRY_POINT
        for bad in (*EVERY_NODE, *FORBIDDEN[node])
        if m == bad or m.startswith(bad + ".")
    ]
    assert found == []
    assert f"clare.nodes.{node}" in modules  # the child did get as far as the node
