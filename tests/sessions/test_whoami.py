from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import UsageError
from clare.sessions.whoami import identify, parent_pid

if TYPE_CHECKING:
    from pathlib import Path


def session_file(claude: Path, pid: int, session: str) -> None:
    (claude / "sessions").mkdir(parents=True, exist_ok=True)
    data = {"pid": pid, "sessionId": session, "cwd": "/src/a"}
    (claude / "sessions" / f"{pid}.json").write_text(json.dumps(data))


def test_the_option_wins_then_the_environment(tmp_path: Path) -> None:
    env = {"CLAUDE_CODE_SESSION_ID": "from-env", "CLAUDE_PID": "12"}
    assert identify(tmp_path, given="given", env=env).session == "given"
    found = identify(tmp_path, env=env)
    assert (found.session, found.how, found.pid) == ("from-env", "environment", 12)


def test_claude_pid_names_the_session_file(tmp_path: Path) -> None:
    session_file(tmp_path, 12, "from-file")
    found = identify(tmp_path, env={"CLAUDE_PID": "12"}, start_pid=999999)
    assert (found.session, found.how, found.cwd) == ("from-file", "claude-pid", "/src/a")


def test_the_parent_chain_leads_to_claude(tmp_path: Path) -> None:
    session_file(tmp_path, 30, "from-parent")
    parents = {50: 40, 40: 30, 30: 1}
    found = identify(tmp_path, env={}, start_pid=50, parent_of=parents.get)
    assert (found.session, found.how, found.pid) == ("from-parent", "parent-process", 30)


def test_no_session_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--session"):
        identify(tmp_path, env={}, start_pid=50, parent_of={50: 1}.get)


def test_parent_pid_reads_proc() -> None:
    assert parent_pid(os.getpid()) == os.getppid()
    assert parent_pid(-1) is None


def test_a_build_without_session_files_is_found_through_its_hook(tmp_path: Path) -> None:
    # Claude Code 2.0.77 sets neither variable and writes no session file: the file
    # its hook recorded for the process names the session.
    hooked = tmp_path / "hooked"
    hooked.mkdir()
    (hooked / "30.json").write_text(json.dumps({"pid": 30, "sessionId": "old", "cwd": "/src/a"}))
    parents = {50: 40, 40: 30, 30: 1}
    found = identify(tmp_path, hooked=hooked, env={}, start_pid=50, parent_of=parents.get)
    assert (found.session, found.how, found.pid) == ("old", "parent-process", 30)
    found = identify(tmp_path, hooked=hooked, env={"CLAUDE_PID": "30"}, start_pid=1)
    assert (found.session, found.how) == ("old", "claude-pid")


def test_a_session_id_too_long_to_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="at most 200"):
        identify(tmp_path, env={"CLAUDE_CODE_SESSION_ID": "s" * 201})
