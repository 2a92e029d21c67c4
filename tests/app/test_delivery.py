"""The order of delivery at once: the inbox socket, else tmux, else (nothing here) the hook."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from clare.app.delivery import UNCONFIRMED, deliver_one
from clare.sessions.claude_home import transcript_path
from tests.sessions.inbox_fake import FakeInbox, LiveProbe, write_session

if TYPE_CHECKING:
    from collections.abc import Iterator

SESSION = "5e55-1"
TEXT = "Messages for this session from Clare:\n- [m-1, to all] freeze"


class RecordingTyper:
    """Types by writing the prompt to the transcript, as Claude Code would record it."""

    def __init__(self, transcript: Path) -> None:
        self.transcript = transcript
        self.typed: list[str] = []

    def type_text(self, pane: str, text: str) -> None:
        self.typed.append(text)
        record = {"type": "user", "message": {"role": "user", "content": text}}
        with open(self.transcript, "a") as f:
            f.write(json.dumps(record) + "\n")


@pytest.fixture
def claude() -> Iterator[Path]:
    # Short: the fake inbox's socket lives in it (Unix socket paths stop at 107 bytes).
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="clare-dn-") as d:
        yield Path(d)


def session(status: str = "idle", pane: str = "%3") -> dict[str, Any]:
    return {"id": SESSION, "cwd": "/w", "status": status, "tmux_pane": pane}


def transcript(claude: Path) -> Path:
    path = transcript_path(claude, "/w", SESSION)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def test_an_inbox_that_answers_takes_it_and_tmux_is_not_used(claude: Path) -> None:
    typer = RecordingTyper(transcript(claude))
    inbox = FakeInbox(str(claude / "in.sock"), typer.transcript)
    write_session(claude, 41, SESSION, inbox.path, "tok")
    try:
        entry = deliver_one(claude, session(), TEXT, "m-1", typer=typer, probe=LiveProbe())
    finally:
        inbox.close()
    assert entry == {"session": SESSION, "via": "inbox", "confirmed": True, "error": None}
    assert typer.typed == []
    assert [getattr(line, "text", None) for line in inbox.lines] == [None, TEXT]


def test_an_inbox_that_does_not_answer_falls_back_to_tmux(claude: Path) -> None:
    typer = RecordingTyper(transcript(claude))
    write_session(claude, 41, SESSION, str(claude / "gone.sock"), None)
    entry = deliver_one(claude, session(), TEXT, "m-1", typer=typer, probe=LiveProbe())
    assert entry == {"session": SESSION, "via": "tmux", "confirmed": True, "error": None}
    assert typer.typed == [TEXT]


def test_a_read_but_unconfirmed_message_is_not_typed_again(claude: Path) -> None:
    typer = RecordingTyper(transcript(claude))
    inbox = FakeInbox(str(claude / "in.sock"), claude / "elsewhere.jsonl")
    write_session(claude, 41, SESSION, inbox.path, None)
    try:
        entry = deliver_one(claude, session(), TEXT, "m-1", typer=typer, probe=LiveProbe(),
                            confirm_timeout_s=0.1)  # fmt: skip
    finally:
        inbox.close()
    assert entry == {"session": SESSION, "via": "inbox", "confirmed": False, "error": UNCONFIRMED}
    assert typer.typed == []


def test_a_busy_session_without_an_inbox_is_left_to_the_hook(claude: Path) -> None:
    typer = RecordingTyper(transcript(claude))
    write_session(claude, 41, SESSION, None, None)
    entry = deliver_one(claude, session("busy"), TEXT, "m-1", typer=typer, probe=LiveProbe())
    assert entry["via"] is None
    assert typer.typed == []


def test_a_busy_session_with_an_inbox_gets_it_queued(claude: Path) -> None:
    typer = RecordingTyper(transcript(claude))
    inbox = FakeInbox(str(claude / "in.sock"), typer.transcript)
    write_session(claude, 41, SESSION, inbox.path, None)
    try:
        entry = deliver_one(claude, session("busy", ""), TEXT, "m-1", probe=LiveProbe())
    finally:
        inbox.close()
    assert (entry["via"], entry["confirmed"]) == ("inbox", True)
