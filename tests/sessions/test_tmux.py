from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import ServiceUnavailable, UsageError
from clare.sessions.tmux import TmuxTyper, deliver_to_pane, pane_target, wait_for_prompt

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def prompt_line(text: str) -> str:
    record = {"type": "user", "uuid": "u", "message": {"role": "user", "content": text}}
    return json.dumps(record) + "\n"


class FakeTyper:
    """Types by appending the prompt to the transcript, as an agent would record it."""

    def __init__(self, transcript: Path, echo: bool = True) -> None:
        self.transcript = transcript
        self.echo = echo
        self.typed: list[tuple[str, str]] = []

    def type_text(self, pane: str, text: str) -> None:
        self.typed.append((pane, text))
        if self.echo:
            with open(self.transcript, "a") as f:
                f.write(prompt_line(text))


def test_pane_target() -> None:
    assert pane_target("main:@1.%4") == "%4"
    assert pane_target("%12") == "%12"
    assert pane_target("work:2.1") == "work:2.1"


def test_delivery_is_confirmed_by_the_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(prompt_line("an old prompt mentioning m-1"))
    typer = FakeTyper(transcript)
    assert deliver_to_pane(typer, "%1", transcript, "hello m-1", "m-1", timeout_s=1)
    assert typer.typed == [("%1", "hello m-1")]


def test_no_echo_means_not_confirmed(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    transcript.write_text(prompt_line("m-1 was said before"))  # before the typing: not proof
    ticks = iter(range(100))
    found = wait_for_prompt(
        transcript, "m-1", offset=transcript.stat().st_size, timeout_s=3,
        clock=lambda: float(next(ticks)), sleep=lambda s: None,
    )  # fmt: skip
    assert not found
    with pytest.raises(UsageError):
        deliver_to_pane(FakeTyper(transcript), "", transcript, "x", "x")


AGENT = r"""
import json, sys
# Ask for bracketed paste, as Claude Code's prompt does, and record each
# submitted paste as a prompt line in the transcript.
sys.stdout.write("\x1b[?2004h"); sys.stdout.flush()
buffered = ""
for line in sys.stdin:
    buffered += line
    if "\x1b[201~" in buffered:
        text = buffered.replace("\x1b[200~", "").replace("\x1b[201~", "").strip()
        record = {"type": "user", "message": {"role": "user", "content": text}}
        with open(sys.argv[1], "a") as f:
            f.write(json.dumps(record) + "\n")
        buffered = ""
"""


@pytest.fixture
def tmux_pane(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: the tmux delivery test needs it (apt-get install tmux)")
    name = f"clare-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"  # a server of its own
    transcript = tmp_path / "t.jsonl"
    transcript.touch()
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    subprocess.run(
        ["tmux", "-L", name, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "120",
         "-y", "30", f"{sys.executable} {agent} {transcript}"],
        check=True, timeout=10,
    )  # fmt: skip
    try:
        pane = subprocess.run(
            ["tmux", "-L", name, "display-message", "-p", "-t", "t", "#{pane_id}"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        time.sleep(0.3)  # let the agent switch bracketed paste on
        yield name, pane, transcript
    finally:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)


def test_a_real_tmux_pane_gets_a_bracketed_paste(tmux_pane: tuple[str, str, Path]) -> None:
    server, pane, transcript = tmux_pane
    text = "Clare message m-42:\nfreeze merges until noon"
    typer = TmuxTyper(socket_name=server)
    assert deliver_to_pane(typer, f"t:@0.{pane}", transcript, text, "m-42", timeout_s=10)
    (line,) = transcript.read_text().splitlines()
    assert json.loads(line)["message"]["content"] == text  # both lines, one submission


def test_a_missing_pane_is_an_error(tmux_pane: tuple[str, str, Path]) -> None:
    server, _, _ = tmux_pane
    with pytest.raises(ServiceUnavailable):
        TmuxTyper(socket_name=server).type_text("%999", "x")
