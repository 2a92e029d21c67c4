from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from clare.sessions.rclaude_source import RclaudeSource, parse_line

if TYPE_CHECKING:
    from pathlib import Path

FAKE = """\
import sys
if sys.argv[1:] == ["--version"]:
    sys.exit(int(open(sys.argv[0] + ".version-exit").read()))
print('{"id": "r1", "pid": 5, "cwd": "/src/a", "status": "waiting", "waiting_for": "approval",'
      ' "last_activity": "2026-01-01T00:00:00Z", "tokens_in": 9, "extra": [1]}')
print("not json")
print('{"no": "id"}')
print('{"id": "r2", "status": "dancing", "pid": -3, "started_at": 1700000000000}')
sys.exit(int(open(sys.argv[0] + ".exit").read()))
"""


def fake_rclaude(tmp_path: Path, *, version_exit: int = 0, exit_code: int = 0) -> str:
    script = tmp_path / "rclaude.py"
    script.write_text(FAKE)
    (tmp_path / "rclaude.py.version-exit").write_text(str(version_exit))
    (tmp_path / "rclaude.py.exit").write_text(str(exit_code))
    return f"{sys.executable} {script}"


def test_sessions_are_read_from_json_lines(tmp_path: Path) -> None:
    # `python --version` is the check here: the program is the interpreter.
    result = RclaudeSource(fake_rclaude(tmp_path)).scan(1)
    assert result.complete
    assert result.problems == []
    first, second = result.observations
    assert (first.session, first.source, first.pid, first.status) == ("r1", "rclaude", 5, "waiting")
    assert (first.waiting_for, first.tokens_in, first.last_activity) == (
        "approval",
        9,
        1767225600000,
    )
    assert (second.session, second.status, second.pid, second.started_at) == (
        "r2",
        "",
        0,
        1700000000000,
    )
    assert result.skipped == {"bad rclaude line": 2}


def test_a_failing_command_makes_the_scan_incomplete(tmp_path: Path) -> None:
    result = RclaudeSource(fake_rclaude(tmp_path, exit_code=3)).scan(1)
    assert not result.complete
    assert "exited 3" in result.problems[0]


def test_a_missing_command_is_said_once_and_rechecked_quietly(tmp_path: Path) -> None:
    source = RclaudeSource(str(tmp_path / "no-such-rclaude") + " sessions", recheck_s=10)
    first = source.scan(1_000)
    assert not first.complete
    (problem,) = first.problems
    assert "not installed or not on PATH" in problem
    assert source.scan(2_000).problems == []  # not re-checked yet
    assert source.scan(20_000).problems == []  # re-checked, still missing, not said again


def test_a_failing_version_check_names_the_program(tmp_path: Path) -> None:
    script = tmp_path / "rc"
    script.write_text("#!/bin/sh\necho broken >&2\nexit 2\n")
    script.chmod(0o755)
    (problem,) = RclaudeSource(str(script)).scan(1).problems
    assert "--version` exited 2: broken" in problem


def test_parse_line_refuses_what_is_not_a_session() -> None:
    assert parse_line("[1, 2]") is None
    assert parse_line('{"id": ""}') is None
    assert parse_line('{"id": 5}') is None
    obs = parse_line('{"id": "x", "status": "idle", "waiting_for": "ignored", "name": 3}')
    assert obs is not None
    assert (obs.status, obs.waiting_for, obs.name) == ("idle", "", "")
