"""The whole doctor, through the CLI, on a real instance with faults planted."""

from __future__ import annotations

import json
import os
import signal
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from clare.cli.app import app
from clare.ops.checks import Status
from clare.ops.doctor import run_checks
from clare.ops.doctor_claude import HOOK_EVENTS
from clare.sessions import hooks_settings
from clare.store.sqlite import open_writer

if TYPE_CHECKING:
    from pathlib import Path

    from clare.runtime.paths import InstancePaths
    from tests.ops.conftest import Nodes


@pytest.fixture
def claude_dir(tmp_path: Path) -> Path:
    # As `clare hooks install` writes them, the PermissionRequest hook's timeout included.
    settings = hooks_settings.install({}, "clare")
    assert set(settings["hooks"]) == set(HOOK_EVENTS)
    (tmp_path / "settings.json").write_text(json.dumps(settings))
    return tmp_path


def _doctor(paths: InstancePaths, claude_dir: Path) -> tuple[int, dict[str, dict[str, str]]]:
    result = CliRunner().invoke(
        app,
        ["--home", str(paths.config_file.parent), "doctor", "--json"],
        env={"CLAUDE_CONFIG_DIR": str(claude_dir)},
    )
    document = json.loads(result.stdout)
    assert document["ok"] is (result.exit_code == 0)
    return result.exit_code, {c["name"]: c for c in document["checks"]}


def test_a_healthy_stack_passes(paths: InstancePaths, nodes: Nodes, claude_dir: Path) -> None:
    os.chmod(paths.config_file, 0o600)
    nodes.start("writer")
    nodes.start("projector")
    code, checks = _doctor(paths, claude_dir)
    for name in ("config", "runtime", "events-db", "views-db", "views-verify", "hooks"):
        assert checks[name]["status"] == "ok", checks[name]
    for node in ("writer", "projector"):
        assert checks[f"node:{node}"]["status"] == "ok"
        assert checks[f"endpoints:{node}"]["status"] == "ok"
    # Only nodes that were not started here (ones that landed later) may fail.
    failing = {n for n, c in checks.items() if c["status"] == "failure"}
    assert all(n.startswith("node:") for n in failing), failing
    assert code == (1 if failing else 0)


def test_planted_faults_are_each_found_with_their_fix(
    paths: InstancePaths, nodes: Nodes, claude_dir: Path
) -> None:
    nodes.start("writer")
    nodes.start("projector")
    nodes.stop("projector", signal.SIGKILL)  # a stopped node, its sockets left behind
    (claude_dir / "settings.json").write_text("{}")  # no hook
    with paths.config_file.open("a") as f:  # a peer with a wrong key
        f.write('\n[[peers]]\nname = "server"\nendpoint = "tcp://10.0.0.2:8766"\nkey = "abc"\n')
    views = paths.views_db
    # Move what the killed projector left in the WAL into the file, then damage the file.
    conn = open_writer(views, durable=False)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with views.open("r+b") as f:  # a corrupted views DB
        f.seek(4096)
        f.write(b"\xa5" * (views.stat().st_size - 4096))
    code, checks = _doctor(paths, claude_dir)
    assert code == 1
    expected = {
        "node:projector": "`clare up`",
        "endpoints:projector": f"rm {paths.runtime_dir / 'proj.ctl'}",
        "hooks": "clare hooks install",
        "peer:server": "clare sync peer add server",
        "views-db": f"rm -f {views} ",
    }
    for name, fix in expected.items():
        assert checks[name]["status"] in ("failure", "warning"), checks[name]
        assert fix in checks[name]["fix"], checks[name]
    assert checks["node:writer"]["status"] == "ok"


def test_text_output_names_each_check_and_its_fix(paths: InstancePaths, claude_dir: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["--home", str(paths.config_file.parent), "doctor"],
        env={"CLAUDE_CONFIG_DIR": str(claude_dir)},
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    writer = lines.index(next(ln for ln in lines if ln.startswith("FAIL  node:writer")))
    assert "fix: start Clare: `clare up`" in lines[writer + 1]
    assert lines[-1].endswith("failures")


def test_a_missing_instance_is_one_failure_not_a_crash(tmp_path: Path) -> None:
    from clare.runtime.paths import resolve

    found = run_checks(resolve(tmp_path / "nothing"), env={})
    by_name = {c.name: c for c in found}
    assert by_name["config"].status is Status.FAILURE
    assert "clare init" in by_name["config"].fix
    assert by_name["peers"].status is Status.WARNING
