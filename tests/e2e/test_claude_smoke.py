"""A real Claude Code, run offline, read back with Clare's own parsers.

What Claude Code 2.1.328 sets inside its Bash tool (seen here, asserted below):
``CLAUDECODE=1``, ``CLAUDE_CODE_SESSION_ID`` (the session id), ``CLAUDE_PID`` (the
Claude Code process, also the shell's parent), ``CLAUDE_CODE_MESSAGING_SOCKET``
(``/tmp/cc-socks/<pid>.sock``), ``CLAUDE_CODE_MESSAGING_TOKEN``,
``CLAUDE_CODE_CHILD_NOTES_DIR`` (``/tmp/claude-<uid>/<project folder>/<session>/started``),
``CLAUDE_CODE_CHILD_SESSION=1``, ``CLAUDE_CODE_ENTRYPOINT`` (``sdk-cli`` for ``-p``),
``CLAUDE_CODE_EXECPATH``, ``CLAUDE_CODE_SESSION_ATTENDED``, ``CLAUDE_EFFORT`` and
``AI_AGENT=claude-code_<version with dashes>_agent``. docs/claude-code.md has the list.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from clare.sessions.claude_home import session_file_path, transcript_path
from clare.sessions.session_file import ProcProbe, parse_session_file
from clare.sessions.transcript import Usage
from clare.sessions.transcript_follow import TranscriptFollower

if TYPE_CHECKING:
    from pathlib import Path

    from .claude import ClaudeRunner
    from .fake_api import FakeAnthropicAPI

# Prints the marker, the Claude variables, and, while Claude Code still runs, its
# /proc stat line and its session file, so the test can check them afterwards.
PROBE = (
    "echo hello-from-agent; env | grep -i claude | sort; "
    'echo "--stat--"; cat /proc/$CLAUDE_PID/stat; echo; '
    'echo "--session--"; cat "$HOME/.claude/sessions/$CLAUDE_PID.json"; echo'
)


def _git_project(path: Path, branch: str) -> Path:
    path.mkdir(parents=True)
    git = ["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev"]
    subprocess.run([*git, "init", "-q", "-b", branch], cwd=path, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], cwd=path, check=True)
    return path


def _section(output: str, name: str) -> str:
    return output.split(f"--{name}--\n", 1)[1].split("\n--", 1)[0].strip()


@pytest.mark.e2e
def test_headless_session_with_a_bash_call(
    claude: ClaudeRunner, fake_api: FakeAnthropicAPI, tmp_path: Path
) -> None:
    project = _git_project(tmp_path / "work" / "alpha_svc", "feature/smoke")
    fake_api.set_script({"bash": PROBE})

    run = claude.run("list the files please", cwd=project)

    result = run.result
    assert result["is_error"] is False, result
    session_id = result["session_id"]

    # The Bash tool ran: its output is the tool result of the next API request.
    requests = fake_api.requests()
    assert len(requests) == 2
    tool_results = [
        block
        for block in requests[1]["messages"][-1]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result"
    ]
    assert len(tool_results) == 1
    output = tool_results[0]["content"]
    output = output if isinstance(output, str) else "".join(c["text"] for c in output)
    assert output.startswith("hello-from-agent\n")

    env = dict(
        line.split("=", 1) for line in output.split("--stat--")[0].splitlines() if "=" in line
    )
    assert env["CLAUDECODE"] == "1"
    assert env["CLAUDE_CODE_SESSION_ID"] == session_id
    assert env["CLAUDE_CODE_ENTRYPOINT"] == "sdk-cli"
    assert env["CLAUDE_CODE_CHILD_SESSION"] == "1"
    assert env["AI_AGENT"] == "claude-code_2-1-328_agent"
    claude_pid = int(env["CLAUDE_PID"])
    assert env["CLAUDE_CODE_MESSAGING_SOCKET"].endswith(f"/{claude_pid}.sock")
    assert env["CLAUDE_CODE_CHILD_NOTES_DIR"].endswith(f"/{session_id}/started")
    assert env["CLAUDE_CODE_MESSAGING_TOKEN"]
    assert env["CLAUDE_CODE_SESSION_ATTENDED"] == "0"
    assert "@anthropic-ai/claude-code" in env["CLAUDE_CODE_EXECPATH"]
    assert env["CLAUDE_EFFORT"]
    assert claude_pid == run.pid  # the binary itself, no wrapper process between

    # The session file as it was while Claude Code ran, read with our parser:
    # procStart is field 22 of /proc/<pid>/stat, pidDomain is what our probe sees.
    live = parse_session_file(_section(output, "session"))
    assert (live.pid, live.session_id, live.cwd) == (claude_pid, session_id, str(project))
    assert live.version == "2.1.328"
    assert live.status == "busy"
    stat = _section(output, "stat")
    assert live.proc_start == stat[stat.rfind(")") + 2 :].split()[19]
    assert live.pid_domain == ProcProbe().pid_domain()
    assert live.messaging_socket_path == env["CLAUDE_CODE_MESSAGING_SOCKET"]
    # A clean exit removes it.
    assert not session_file_path(claude.claude_dir, claude_pid).exists()

    # The transcript, read with our follower.
    path = transcript_path(claude.claude_dir, str(project), session_id)
    follower = TranscriptFollower(path)
    follower.poll()
    summary = follower.summary
    assert summary.session_id == session_id
    assert summary.cwd == str(project)
    assert summary.git_branch == "feature/smoke"
    assert summary.version == "2.1.328"
    assert summary.first_prompt == "list the files please"
    assert summary.prompts == 1
    # Two API messages of 12 in / 7 out each (the fake API's numbers), each counted once;
    # Claude Code's own total says the same.
    assert summary.api_messages == 2
    assert summary.usage == Usage(24, 14, 0, 0)
    assert result["usage"]["input_tokens"] == 24
    assert result["usage"]["output_tokens"] == 14
    # Every record type this version writes is known to the parser.
    assert (summary.garbage_lines, summary.unknown_lines) == (0, 0)


@pytest.mark.e2e
def test_long_cwd_gets_the_transcript_folder_we_compute(
    claude: ClaudeRunner, fake_api: FakeAnthropicAPI, tmp_path: Path
) -> None:
    project = tmp_path / ("deep_" * 14) / ("folder.name " * 6) / ("x-y" * 20)
    project.mkdir(parents=True)
    assert len(str(project)) > 200
    fake_api.set_script({"text": "fine"})

    run = claude.run("hello", cwd=project)

    session_id = run.result["session_id"]
    expected = transcript_path(claude.claude_dir, str(project), session_id)
    found = list((claude.claude_dir / "projects").glob(f"*/{session_id}.jsonl"))
    assert found == [expected]
    assert os.path.getsize(expected) > 0
    assert json.loads(run.stdout)["result"] == "fine"
