"""The Claude Code command lines of dispatch, and what a host refuses on its own."""

from __future__ import annotations

import uuid

from clare.app.dispatch import attach_command, job_id_of, start_argv, stop_argv
from clare.runtime.config import Config

CONFIG = Config(machine_id=str(uuid.uuid4()), name="b", dispatch_enabled=True)


def test_a_dispatched_session_runs_in_the_background_with_the_owners_permissions() -> None:
    argv = start_argv(CONFIG, "clare-t-1", True, "do the task")
    assert argv == [
        "claude", "--bg", "-n", "clare-t-1", "--permission-mode", "default",
        "-w", "clare-t-1", "do the task",
    ]  # fmt: skip
    custom = CONFIG.replace(dispatch_command="/opt/claude --verbose",
                     dispatch_permission_mode="acceptEdits")  # fmt: skip
    argv = start_argv(custom, "n", False, "p")
    assert argv == ["/opt/claude", "--verbose", "--bg", "-n", "n", "--permission-mode",
                    "acceptEdits", "p"]  # fmt: skip
    assert stop_argv(CONFIG, "abc123") == ["claude", "stop", "abc123"]
    assert attach_command(CONFIG, "abc123") == ["claude", "attach", "abc123"]


def test_the_job_id_is_read_from_what_claude_prints() -> None:
    assert job_id_of("session backgrounded · 3f9a0c1d\nattach with ...") == "3f9a0c1d"
    assert job_id_of("Workspace not trusted") == ""
