from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clare.cli.app import app
from clare.core.errors import UsageError
from clare.ops import systemd

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def _units(command: list[str] | None = None, home: str | None = "/srv/clare") -> dict[str, str]:
    env = systemd.environment(home, "debug", env={"CLAUDE_CONFIG_DIR": "/home/u/.claude-work"})
    return systemd.render_units(command or systemd.clare_command(), env)


def _directives(text: str, key: str) -> list[str]:
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(f"{key}=")]


def test_every_planned_node_has_a_unit_and_the_target_groups_them() -> None:
    units = _units()
    assert sorted(units) == sorted(
        [f"clare-{n}.service" for n in ("writer", "projector", "poller", "gossip", "web")]
        + ["clare.target"]
    )
    for node in systemd.UNIT_NODES:
        text = units[systemd.unit_name(node)]
        assert text.startswith(systemd.MARKER + "\n")
        assert "@" not in text.replace(systemd.MARKER, "")  # every hole filled
        assert _directives(text, "Restart") == ["on-failure"]
        assert _directives(text, "RestartPreventExitStatus") == ["78"]
        assert _directives(text, "PartOf") == ["clare.target"]
        assert _directives(text, "WantedBy") == ["clare.target"]
        assert _directives(text, "ExecStart")[0].endswith(f" node {node}")
        assert _directives(text, "Environment") == [
            "CLARE_HOME=/srv/clare",
            "CLARE_LOG_LEVEL=DEBUG",
            "CLAUDE_CONFIG_DIR=/home/u/.claude-work",
        ]
    assert _directives(units["clare.target"], "WantedBy") == ["default.target"]


def test_nodes_start_after_the_writer_they_talk_to() -> None:
    units = _units()
    assert _directives(units["clare-writer.service"], "After") == []
    for node in ("projector", "poller", "gossip"):
        assert _directives(units[systemd.unit_name(node)], "After") == ["clare-writer.service"]
    web_after = _directives(units["clare-web.service"], "After")[0].split()
    assert web_after == ["clare-writer.service", "clare-projector.service"]


def test_a_default_instance_sets_no_clare_home() -> None:
    text = _units(home=None)["clare-writer.service"]
    assert not any(v.startswith("CLARE_HOME=") for v in _directives(text, "Environment"))


@pytest.mark.parametrize(
    ("word", "command", "quoted"),
    [
        ("/usr/bin/clare", True, "/usr/bin/clare"),
        ("/opt/my apps/clare", True, '"/opt/my apps/clare"'),
        ("/a/100%/b", True, "/a/100%%/b"),
        ("/a/$HOME/b", True, "/a/$$HOME/b"),
        ("X=$HOME", False, "X=$HOME"),
        ('X=say "hi"\\', False, '"X=say \\"hi\\"\\\\"'),
    ],
)
def test_quote_escapes_what_systemd_would_expand(word: str, command: bool, quoted: str) -> None:
    assert systemd.quote(word, command=command) == quoted


def test_the_command_is_the_clare_beside_this_python() -> None:
    command = systemd.clare_command()
    assert Path(command[0]).is_file()
    assert os.access(command[0], os.X_OK)
    assert command == [str(Path(sys.executable).with_name("clare"))] or command[1:] == [
        "-m",
        "clare",
    ]


def test_install_writes_units_systemd_accepts(tmp_path: Path) -> None:
    unit_dir = tmp_path / "user"
    written = systemd.install(_units(home=str(tmp_path / "home")), unit_dir)
    assert sorted(p.name for p in written) == sorted(systemd.unit_names())
    for path in written:
        if path.suffix == ".service":
            executable = shlex.split(_directives(path.read_text(), "ExecStart")[0])[0]
            assert Path(executable).is_file(), executable
    if SYSTEMD_ANALYZE is None:
        return  # the ExecStart check above still ran; systemd is not on this machine
    runtime = tmp_path / "rt"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "--user", "verify", *map(str, written)],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on mere warnings (an unknown key is "ignored"): any output is a problem.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""
    assert result.stdout.strip() == ""


def test_install_refuses_to_overwrite_a_unit_someone_else_wrote(tmp_path: Path) -> None:
    own = tmp_path / "clare-web.service"
    own.write_text("[Service]\nExecStart=/usr/bin/true\n")
    with pytest.raises(UsageError, match="not written by Clare"):
        systemd.install(_units(), tmp_path)
    assert own.read_text().startswith("[Service]")
    systemd.install(_units(), tmp_path, force=True)
    assert own.read_text().startswith(systemd.MARKER)


def test_install_again_replaces_the_units(tmp_path: Path) -> None:
    systemd.install(_units(home="/a"), tmp_path)
    systemd.install(_units(home="/b"), tmp_path)
    assert "CLARE_HOME=/b" in (tmp_path / "clare-writer.service").read_text()


def test_uninstall_removes_only_what_clare_wrote(tmp_path: Path) -> None:
    systemd.install(_units(), tmp_path)
    (tmp_path / "clare-web.service").write_text("[Service]\nExecStart=/usr/bin/true\n")
    (tmp_path / "other.service").write_text("[Service]\n")
    removed, kept = systemd.uninstall(tmp_path)
    assert len(removed) == len(systemd.unit_names()) - 1
    assert kept == [tmp_path / "clare-web.service"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clare-web.service", "other.service"]


def test_enable_commands_name_only_the_nodes_that_exist() -> None:
    commands = systemd.enable_commands(["writer", "projector"])
    enable = next(c for c in commands if " enable " in c)
    assert "clare-writer.service clare-projector.service clare.target" in enable
    assert "poller" not in enable


def test_the_unit_folder_follows_xdg_config_home() -> None:
    assert systemd.default_unit_dir({"XDG_CONFIG_HOME": "/x"}) == Path("/x/systemd/user")


def test_cli_install_dry_run_writes_nothing(tmp_path: Path) -> None:
    unit_dir = tmp_path / "units"
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path), "systemd", "install", "--dry-run", "--unit-dir", str(unit_dir)],
    )
    assert result.exit_code == 0, result.output
    assert not unit_dir.exists()
    assert f"# ---- {unit_dir / 'clare-writer.service'}" in result.stdout
    assert f"CLARE_HOME={tmp_path}" in result.stdout
    assert "systemctl --user enable clare-writer.service" in result.stderr


def test_cli_install_then_uninstall(tmp_path: Path) -> None:
    unit_dir = tmp_path / "units"
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    result = runner.invoke(app, [*home, "systemd", "install", "--unit-dir", str(unit_dir)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in unit_dir.iterdir()) == sorted(systemd.unit_names())
    result = runner.invoke(app, [*home, "systemd", "uninstall", "--unit-dir", str(unit_dir)])
    assert result.exit_code == 0, result.output
    assert list(unit_dir.iterdir()) == []
    assert "systemctl --user disable --now clare.target" in result.stderr


def test_cli_install_refuses_an_unknown_log_level(tmp_path: Path) -> None:
    unit_dir = tmp_path / "units"
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path), "systemd", "install", "--unit-dir", str(unit_dir),
         "--log-level", "bogus"],
    )  # fmt: skip
    assert result.exit_code != 0
    assert "unknown log level 'bogus'" in str(result.exception)
    assert not unit_dir.exists()
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path), "systemd", "install", "--unit-dir", str(unit_dir),
         "--log-level", "debug"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "CLARE_LOG_LEVEL=DEBUG" in (unit_dir / "clare-writer.service").read_text()
