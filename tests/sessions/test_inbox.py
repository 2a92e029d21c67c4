from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import ServiceUnavailable
from clare.sessions.inbox import Inbox, deliver_to_inbox, find_inbox, send_to_inbox, wait_for_queued
from clare.sessions.inbox_wire import AuthLine, UserLine
from tests.sessions.inbox_fake import FakeInbox, LiveProbe, write_session

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # Unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="clare-inbox-") as d:
        yield Path(d)


def test_the_live_sessions_inbox_is_found_with_its_token(tmp_path: Path) -> None:
    write_session(tmp_path, 999, "s1", "/tmp/cc-socks/999.sock", "old")  # dead process
    write_session(tmp_path, 41, "s1", "/tmp/cc-socks/41.sock", "t41")
    write_session(tmp_path, 42, "s2", None, None)  # an older Claude Code: no inbox
    write_session(tmp_path, 43, "s3", "/tmp/cc-socks/43.sock", None)
    (tmp_path / "sessions" / "44.json").write_text("{torn")
    probe = LiveProbe()
    assert find_inbox(tmp_path, "s1", probe) == Inbox("s1", 41, "/tmp/cc-socks/41.sock", "t41",
                                                      "idle")  # fmt: skip
    assert find_inbox(tmp_path, "s2", probe) is None
    assert find_inbox(tmp_path, "s3", probe) == Inbox("s3", 43, "/tmp/cc-socks/43.sock", None,
                                                      "idle")  # fmt: skip
    assert find_inbox(tmp_path, "nobody", probe) is None
    assert find_inbox(tmp_path / "missing", "s1", probe) is None


def test_a_message_is_sent_authenticated_and_confirmed(sock_dir: Path) -> None:
    transcript = sock_dir / "t.jsonl"
    transcript.write_text('{"type":"user","message":{"role":"user","content":"old m-1"}}\n')
    server = FakeInbox(str(sock_dir / "in.sock"), transcript)
    try:
        inbox = Inbox("s1", 1, server.path, "tok", "idle")
        assert deliver_to_inbox(inbox, transcript, "news [m-1]", "m-1", timeout_s=5)
    finally:
        server.close()
    assert server.lines == [AuthLine("tok"), UserLine("news [m-1]", "clare", "s1")]


def test_a_read_but_unqueued_message_is_not_confirmed(sock_dir: Path) -> None:
    transcript = sock_dir / "t.jsonl"
    transcript.write_text('{"type":"user","message":{"role":"user","content":"m-1 before"}}\n')
    ticks = iter(range(100))
    sent: list[str] = []
    confirmed = deliver_to_inbox(
        Inbox("s1", 1, "/nowhere", None, "idle"), transcript, "m-1", "m-1",
        send=lambda inbox, text: sent.append(text), timeout_s=0,
    )  # fmt: skip
    assert sent == ["m-1"]
    assert not confirmed
    # Only what is written past the offset counts, and the wait ends at its deadline.
    end = transcript.stat().st_size
    assert wait_for_queued(transcript, "m-1", offset=0, timeout_s=0)
    assert not wait_for_queued(transcript, "m-1", offset=end, timeout_s=3, poll_s=1,
                               clock=lambda: next(ticks), sleep=lambda s: None)  # fmt: skip
    assert next(ticks) == 4  # read at 0 (deadline 3), then at 1, 2 and 3


def test_a_gone_socket_is_unavailable(sock_dir: Path) -> None:
    with pytest.raises(ServiceUnavailable, match="did not take"):
        send_to_inbox(Inbox("s1", 1, str(sock_dir / "gone.sock"), None, "idle"), "hi")


def test_a_socket_that_never_reads_times_out_quickly(sock_dir: Path) -> None:
    server = FakeInbox(str(sock_dir / "mute.sock"), sock_dir / "t.jsonl", answer=False)
    try:
        with pytest.raises(ServiceUnavailable, match="did not take"):
            send_to_inbox(Inbox("s1", 1, server.path, None, "idle"), "hi", timeout_s=0.2)
    finally:
        server.close()


def test_a_stale_socket_file_is_unavailable(sock_dir: Path) -> None:
    path = str(sock_dir / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens: a crashed session
    assert os.path.exists(path)
    with pytest.raises(ServiceUnavailable, match="refused"):
        send_to_inbox(Inbox("s1", 1, path, None, "idle"), "hi")
